//! The Lambda package: zip size of each function, and the init time and memory of each built
//! binary against a local Runtime API, beside two floors (`floor-empty`: a bare
//! `lambda_runtime` function; `floor-clients`: one that only builds the clients that function
//! builds).
//!
//! Init time is process start → its first `GET /runtime/invocation/next` (the moment Lambda
//! considers init done); idle RSS is `VmRSS` right then, init peak `VmHWM`. Each binary is
//! started `runs` times; the median and the fastest are reported. It measures release builds
//! of this machine's architecture; the deployed arm64 zips are reported from `target/lambda`
//! when `infra/build-zips.sh` has built them. It does not measure a cold start in AWS (which
//! adds downloading and unpacking the zip and starting the sandbox).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ordersync_testkit::google::FakeGoogle;
use ordersync_testkit::naver::FakeNaver;
use ordersync_testkit::process::FunctionProcess;
use ordersync_testkit::runtime_api::RuntimeApi;
use ordersync_testkit::s3::S3Server;

/// One binary's numbers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Binary {
    pub name: String,
    pub binary_bytes: u64,
    /// `zip -9` of the binary as `bootstrap`, as cargo-lambda packages it.
    pub zip_bytes: u64,
    pub init_median_ms: f64,
    pub init_best_ms: f64,
    pub idle_rss_kib: u64,
    pub init_peak_kib: u64,
}

/// Builds the three functions (one cargo call, as `infra/build-zips.sh` does) and the floors,
/// in release; returns their paths by name.
pub fn build() -> Vec<(String, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for args in [
        &[
            "-p",
            "ordersync-import",
            "--bin",
            "import",
            "-p",
            "ordersync-transform",
            "--bin",
            "transform",
            "-p",
            "ordersync-insert",
            "--bin",
            "insert",
        ][..],
        &[
            "-p",
            "ordersync-bench",
            "--bin",
            "floor-empty",
            "--bin",
            "floor-clients",
        ][..],
    ] {
        let mut command = std::process::Command::new(&cargo);
        // `cargo run` gives this process per-crate variables; passed on, they make build
        // scripts that watch them (ring's) rebuild half the tree on every report.
        for (name, _) in std::env::vars_os() {
            if name
                .to_str()
                .is_some_and(ordersync_testkit::process::is_per_crate_cargo_var)
            {
                command.env_remove(name);
            }
        }
        let status = command
            .current_dir(&root)
            .args(["build", "--release", "--locked"])
            .args(args)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "release build failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("release");
    [
        "floor-empty",
        "floor-clients",
        "import",
        "transform",
        "insert",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), target.join(name)))
    .collect()
}

/// One binary to start for the init measurement, under a label, with extra environment.
pub type Subject = (String, &'static str, Vec<(String, String)>);

/// What to start for the init measurement. The clients floor is started once per function,
/// building that function's clients.
pub fn init_subjects() -> Vec<Subject> {
    let mut out = vec![("floor-empty".to_owned(), "floor-empty", vec![])];
    for function in ["import", "transform", "insert"] {
        out.push((
            format!("floor-clients ({function})"),
            "floor-clients",
            vec![("ORDERSYNC_FLOOR_CLIENTS".to_owned(), function.to_owned())],
        ));
        out.push((function.to_owned(), function, vec![]));
    }
    out
}

fn zip_size(binary: &Path) -> u64 {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(binary, dir.path().join("bootstrap")).expect("copy binary");
    let status = std::process::Command::new("zip")
        .current_dir(dir.path())
        .args(["-q", "-9", "-X", "bootstrap.zip", "bootstrap"])
        .status()
        .expect("`zip` is installed");
    assert!(status.success());
    std::fs::metadata(dir.path().join("bootstrap.zip"))
        .expect("zip written")
        .len()
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts `binary` `runs` times against a fresh Runtime API each time and measures its init.
pub async fn measure(name: &str, binary: &Path, env: &[(String, String)], runs: usize) -> Binary {
    let mut times = Vec::new();
    let (mut idle, mut peak) = (0, 0);
    for _ in 0..runs {
        let api = RuntimeApi::start().await;
        let mut all = api.function_env(name);
        all.extend(env.iter().cloned());
        let started = Instant::now();
        let mut process = FunctionProcess::spawn(binary, &all);
        let polled = tokio::time::timeout(Duration::from_secs(30), api.first_poll())
            .await
            .unwrap_or_else(|_| panic!("{name} never polled: {}", process.output()));
        times.push(polled.saturating_duration_since(started).as_secs_f64() * 1e3);
        idle = idle.max(status_kib(process.pid(), "VmRSS:"));
        peak = peak.max(status_kib(process.pid(), "VmHWM:"));
        process.kill().await;
    }
    times.sort_by(f64::total_cmp);
    Binary {
        name: name.to_owned(),
        binary_bytes: std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0),
        zip_bytes: zip_size(binary),
        init_median_ms: times[times.len() / 2],
        init_best_ms: times[0],
        idle_rss_kib: idle,
        init_peak_kib: peak,
    }
}

/// The environment every binary gets: a store on the local S3 server, the NAVER settings and
/// the service-account key file of the fakes (the floors and the functions read the same
/// variables; init makes no call to any of them).
pub fn environment(
    s3: &S3Server,
    naver: &FakeNaver,
    google: &FakeGoogle,
    key_path: &Path,
) -> Vec<(String, String)> {
    let mut env = s3.store_env("bench");
    env.extend(
        [
            ("NAVER_COMMERCE_BASE_URL", naver.base_url()),
            ("NAVER_CLIENT_ID", naver.client_id().to_owned()),
            ("NAVER_CLIENT_SECRET", naver.client_secret().to_owned()),
            ("GOOGLE_SHEETS_BASE_URL", google.base_url()),
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                key_path.display().to_string(),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    env
}

/// The deployed zips, if `infra/build-zips.sh` built them: (function, bytes).
pub fn deployed_zips() -> Vec<(String, u64)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/lambda");
    ["import", "transform", "insert"]
        .into_iter()
        .filter_map(|f| {
            let meta = std::fs::metadata(root.join(f).join("bootstrap.zip")).ok()?;
            Some((f.to_owned(), meta.len()))
        })
        .collect()
}
