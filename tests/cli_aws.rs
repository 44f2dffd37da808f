//! `ordersync start`, `status` and `redrive` as a built binary against the test kit's fake Step
//! Functions API (`ordersync_testkit::sfn`), configured only through the standard AWS
//! environment (`AWS_ENDPOINT_URL`, key pair, region) and `ORDERSYNC_STATE_MACHINE_ARN`.
//!
//! The child's environment is cleared first, so the host's AWS settings never leak in.

use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ordersync_core::RunRequest;
use ordersync_core::events::RunSummary;
use ordersync_core::naming::execution_name;
use ordersync_testkit::process::built_binary;
use ordersync_testkit::sfn::{FakeSfn, Finished, Op, STATE_MACHINE_ARN, Status};
use serde_json::{Value, json};

fn binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| built_binary("ordersync-cli", "ordersync", false))
        .clone()
}

struct Backend {
    fake: Arc<FakeSfn>,
    dir: tempfile::TempDir,
}

fn request(from: &str, to: &str) -> Value {
    json!({
        "account": {"secret_id": "ordersync/naver/my-store"},
        "range": {"from": from, "to": to},
        "sheet": {"spreadsheet_id": "1AbCdEfGh_-42", "tab": "스마트스토어 주문"},
        "columns": {"preset": "minimal"}
    })
}

fn name_of(request: &Value) -> String {
    // A range request's name does not depend on the time.
    execution_name(
        &RunRequest::parse(request.to_string().as_bytes()).unwrap(),
        chrono::Utc::now(),
    )
}

fn summary() -> RunSummary {
    RunSummary {
        windows: 2,
        orders_changed: 15,
        orders_fetched: 14,
        orders_missing: 1,
        rows: 14,
        appended: 5,
        updated: 2,
        unchanged: 7,
        duplicate_keys_in_sheet: 0,
        naver_api_calls: 6,
        sheets_api_calls: 2,
        orders_rechecked: 0,
        sync: None,
        cell_budget: None,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Backend {
    async fn start() -> Backend {
        // Build (or find) the binary before the fake runs, off the runtime's threads.
        tokio::task::spawn_blocking(binary).await.unwrap();
        Backend {
            fake: Arc::new(FakeSfn::start(STATE_MACHINE_ARN).await),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes `request` (pretty-printed, as a person would) and returns its path.
    fn input(&self, file: &str, request: &Value) -> String {
        let path = self.dir.path().join(file);
        std::fs::write(&path, serde_json::to_string_pretty(request).unwrap()).unwrap();
        path.display().to_string()
    }

    async fn ordersync(&self, args: &[&str]) -> Output {
        self.ordersync_with(args, |_| ()).await
    }

    /// Runs the binary with the fake's environment, changed by `edit`.
    async fn ordersync_with(
        &self,
        args: &[&str],
        edit: impl FnOnce(&mut Vec<(String, String)>),
    ) -> Output {
        let mut env = self.fake.env();
        env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
        edit(&mut env);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let cwd = self.dir.path().to_owned();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(binary())
                .args(&args)
                .env_clear()
                // Under `.ci/test-at`, the CLI reads the same shifted clock as this test.
                .envs(ordersync_testkit::process::clock_env())
                .envs(env)
                .current_dir(cwd)
                .output()
                .expect("ordersync runs")
        })
        .await
        .unwrap()
    }

    /// Ends `name` as `how` once the CLI has seen it RUNNING at least once while waiting (its
    /// describe-before-start plus one poll).
    fn finish_while_waiting(&self, name: &str, how: Finished) -> tokio::task::JoinHandle<()> {
        let fake = self.fake.clone();
        let name = name.to_owned();
        let describes_before = fake.requests(Op::DescribeExecution);
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while fake.execution(&name).is_none()
                || fake.requests(Op::DescribeExecution) < describes_before + 2
            {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the CLI never polled"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
            fake.finish(&name, how);
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn start_twice_finds_the_first_execution_running_or_ended() {
    let backend = Backend::start().await;
    let fake = &backend.fake;
    let first = request("2025-01-01", "2025-01-03");
    let name = name_of(&first);
    assert!(name.starts_with("os-20250101-20250103-"), "{name}");
    let input = backend.input("first.json", &first);

    let out = backend.ordersync(&["start", "--input", &input]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("started {name}\n")), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:{name}"
        )),
        "{stdout}"
    );
    let started = fake.execution(&name).expect("the execution exists");
    assert_eq!(started.status, Status::Running);
    // The input sent is the request itself, compact: not the file's formatting.
    assert_eq!(
        serde_json::from_str::<Value>(&started.input).unwrap(),
        first
    );
    assert!(!started.input.contains('\n'));
    assert_eq!(fake.requests(Op::StartExecution), 1);

    // A double click: found running, not started again.
    let out = backend.ordersync(&["start", "--input", &input]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("already started: {name} is RUNNING\n")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(fake.requests(Op::StartExecution), 1);

    // After it ended (Step Functions would refuse the name): found, with its status.
    fake.finish(
        &name,
        Finished::Succeeded {
            output: serde_json::to_string(&summary()).unwrap(),
        },
    );
    let out = backend.ordersync(&["start", "--input", &input]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("already started: {name} is SUCCEEDED\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("ordersync status {name}")),
        "{stdout}"
    );
    assert_eq!(fake.requests(Op::StartExecution), 1);
    assert_eq!(fake.executions().len(), 1);

    // Another range is another execution; --json reports it as data.
    let second = request("2025-01-04", "2025-01-05");
    let second_name = name_of(&second);
    assert_ne!(second_name, name);
    let input = backend.input("second.json", &second);
    let out = backend
        .ordersync(&["start", "--input", &input, "--json"])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["name"], second_name.as_str());
    assert_eq!(report["already_started"], false);
    assert_eq!(report["status"], "RUNNING");
    assert_eq!(fake.requests(Op::StartExecution), 2);
    assert_eq!(fake.executions().len(), 2);

    // Same account, sheet and range with other columns: the same execution, with a note.
    let mut other_columns = second.clone();
    other_columns["columns"] = json!({"preset": "shipping"});
    let input = backend.input("third.json", &other_columns);
    let out = backend.ordersync(&["start", "--input", &input]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("already started: {second_name} is RUNNING")),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("started with another input"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fake.requests(Op::StartExecution), 2);

    // --name starts a separate execution of the same request.
    let out = backend
        .ordersync(&["start", "--input", &input, "--name", "backfill-2"])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("started backfill-2\n"));
    assert_eq!(
        fake.execution("backfill-2").unwrap().status,
        Status::Running
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_prints_the_summary_as_text_or_json() {
    let backend = Backend::start().await;
    let first = request("2025-02-01", "2025-02-02");
    let name = name_of(&first);
    let input = backend.input("first.json", &first);
    let finisher = backend.finish_while_waiting(
        &name,
        Finished::Succeeded {
            output: serde_json::to_string(&summary()).unwrap(),
        },
    );
    let out = backend
        .ordersync(&["start", "--input", &input, "--wait", "--interval", "0.05"])
        .await;
    finisher.await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("status     SUCCEEDED"), "{stdout}");
    assert!(
        stdout.contains("5 appended, 2 updated, 7 unchanged"),
        "{stdout}"
    );
    assert!(stdout.contains("NAVER 6, Google Sheets 2"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("started {name}")), "{stderr}");
    assert!(stderr.contains(&format!("{name} RUNNING")), "{stderr}");
    assert!(
        backend.fake.requests(Op::DescribeExecution) >= 3,
        "the CLI polled"
    );

    let second = request("2025-02-02", "2025-02-03");
    let second_name = name_of(&second);
    let input = backend.input("second.json", &second);
    let finisher = backend.finish_while_waiting(
        &second_name,
        Finished::Succeeded {
            output: serde_json::to_string(&summary()).unwrap(),
        },
    );
    let out = backend
        .ordersync(&[
            "start",
            "--input",
            &input,
            "--wait",
            "--interval",
            "0.05",
            "--json",
        ])
        .await;
    finisher.await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let parsed: RunSummary = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(parsed, summary());

    // Waiting on one that already ended returns at once with its summary.
    let out = backend
        .ordersync(&["start", "--input", &input, "--wait", "--json"])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        serde_json::from_slice::<RunSummary>(&out.stdout).unwrap(),
        summary()
    );
    assert!(text(&out.stderr).contains("already started"));
    assert_eq!(backend.fake.requests(Op::StartExecution), 2);

    // status, as text and JSON.
    let out = backend.ordersync(&["status", &second_name]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("status     SUCCEEDED"), "{stdout}");
    assert!(stdout.contains("redrives   0"), "{stdout}");
    assert!(stdout.contains("stopped    "), "{stdout}");
    let out = backend.ordersync(&["status", &second_name, "--json"]).await;
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "SUCCEEDED");
    assert_eq!(status["redrive_count"], 0);
    assert_eq!(
        serde_json::from_value::<RunSummary>(status["summary"].clone()).unwrap(),
        summary()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_execution_exits_1_and_can_be_redriven_once_not_after_success() {
    let backend = Backend::start().await;
    let fake = &backend.fake;
    let failing = request("2025-03-01", "2025-03-02");
    let name = name_of(&failing);
    let input = backend.input("failing.json", &failing);
    let finisher = backend.finish_while_waiting(
        &name,
        Finished::Failed {
            error: "Ordersync.Auth".into(),
            cause: "NAVER refused the egress IP (GW.IP_NOT_ALLOWED)".into(),
        },
    );
    let out = backend
        .ordersync(&["start", "--input", &input, "--wait", "--interval", "0.05"])
        .await;
    finisher.await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("ordersync: {name} FAILED: Ordersync.Auth")),
        "{stderr}"
    );
    assert!(stderr.contains("GW.IP_NOT_ALLOWED"), "{stderr}");

    let out = backend.ordersync(&["status", &name]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("status     FAILED"), "{stdout}");
    assert!(stdout.contains("error      Ordersync.Auth"), "{stdout}");
    assert!(
        stdout.contains(&format!("ordersync redrive {name}")),
        "{stdout}"
    );

    let out = backend.ordersync(&["redrive", &name]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("redriven {name}: RUNNING again (redrive 1)")),
        "{}",
        text(&out.stdout)
    );
    let redriven = fake.execution(&name).unwrap();
    assert_eq!(redriven.status, Status::Running);
    assert_eq!(redriven.redrive_count, 1);
    assert_eq!(
        fake.executions().len(),
        1,
        "the same execution, not a new one"
    );

    // Running again: nothing to redrive.
    let out = backend.ordersync(&["redrive", &name]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("still running"),
        "{}",
        text(&out.stderr)
    );

    fake.finish(
        &name,
        Finished::Succeeded {
            output: serde_json::to_string(&summary()).unwrap(),
        },
    );
    let out = backend.ordersync(&["redrive", &name]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot be redriven"), "{stderr}");
    assert!(
        stderr.contains("it succeeded; to import again, start a new execution"),
        "{stderr}"
    );
    assert_eq!(fake.execution(&name).unwrap().redrive_count, 1);

    let out = backend.ordersync(&["status", &name, "--json"]).await;
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "SUCCEEDED");
    assert_eq!(status["redrive_count"], 1);
    assert!(status["redrive_date"].is_string());

    let out = backend.ordersync(&["status", "os-nothing-here"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no execution named os-nothing-here"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_and_missing_configuration_never_reach_aws() {
    let backend = Backend::start().await;
    let bad = json!({
        "account": {"secret_id": "x"},
        "range": {"from": "2025-01-05", "to": "2025-01-01"},
        "sheet": {"spreadsheet_id": "id", "tab": ""}
    });
    let input = backend.input("bad.json", &bad);
    let out = backend.ordersync(&["start", "--input", &input]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "ordersync: invalid input: range.to is before range.from; sheet.tab is empty"
    );

    let good = backend.input("good.json", &request("2025-01-01", "2025-01-02"));
    let out = backend
        .ordersync_with(&["start", "--input", &good], |env| {
            env.retain(|(k, _)| k != "ORDERSYNC_STATE_MACHINE_ARN")
        })
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("ORDERSYNC_STATE_MACHINE_ARN"),
        "{}",
        text(&out.stderr)
    );
    let out = backend
        .ordersync_with(&["status", "x"], |env| {
            env.retain(|(k, _)| k != "ORDERSYNC_STATE_MACHINE_ARN")
        })
        .await;
    assert_eq!(out.status.code(), Some(2));

    let out = backend
        .ordersync(&["start", "--input", &good, "--name", "has space"])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(backend.fake.stats().http_requests, 0, "nothing reached AWS");

    // The flag wins over the environment (this state machine does not exist).
    let other = "arn:aws:states:ap-northeast-2:123456789012:stateMachine:elsewhere";
    let out = backend
        .ordersync(&["start", "--input", &good, "--state-machine-arn", other])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("StateMachineDoesNotExist"),
        "{}",
        text(&out.stderr)
    );

    // Credentials the service does not know.
    let out = backend
        .ordersync_with(&["start", "--input", &good], |env| {
            for (k, v) in env.iter_mut() {
                if k == "AWS_ACCESS_KEY_ID" {
                    *v = "SOMEONEELSE".into();
                }
            }
        })
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("UnrecognizedClientException"),
        "{}",
        text(&out.stderr)
    );
    assert!(backend.fake.executions().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn start_of_a_sync_is_named_by_its_kst_minute_and_sends_the_sync_request() {
    let backend = Backend::start().await;
    let sync = json!({
        "account": {"secret_id": "ordersync/naver/shop-1"},
        "since": "2025-01-01",
        "sheet": {"spreadsheet_id": "1AbCdEfGh_-42", "tab": "스마트스토어 주문"}
    });
    let input = backend.input("sync.json", &sync);
    let before = chrono::Utc::now();
    let out = backend
        .ordersync(&["start", "--input", &input, "--json"])
        .await;
    let after = chrono::Utc::now();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name = report["name"].as_str().unwrap().to_owned();
    let request = RunRequest::parse(sync.to_string().as_bytes()).unwrap();
    // The minute the CLI read its clock in: the one before the call or the one after it.
    assert!(
        [
            execution_name(&request, before),
            execution_name(&request, after)
        ]
        .contains(&name),
        "{name}"
    );
    assert!(name.starts_with("os-sync-"), "{name}");
    let started = backend.fake.execution(&name).expect("started");
    assert_eq!(serde_json::from_str::<Value>(&started.input).unwrap(), sync);
}
