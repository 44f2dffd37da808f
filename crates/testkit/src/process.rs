//! Running built Lambda binaries as child processes in tests.
//!
//! [`built_binary`] builds a workspace binary with cargo and returns its path;
//! [`FunctionProcess`] runs it with a clean environment (only `PATH` plus what the test passes,
//! so the host's AWS credentials and settings never leak in) and captures its output for
//! assertions on log lines; [`peak_rss_kib`] reads its peak memory.
//!
//! It does not start the servers the function talks to (see [`crate::runtime_api`] and
//! [`crate::s3`]) and does not parse the function's logs. Linux only (`/proc`).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The workspace root, two levels above this crate's manifest.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds (if needed) and returns the path of a workspace binary.
///
/// Runs `$CARGO build --workspace --all-targets` (or, with `release`, `$CARGO build --release -p
/// <package> --bin <bin>`) from the workspace root and returns the executable cargo reports, which is `<target dir>/<debug|release>/<bin>`
/// with the target dir from `CARGO_TARGET_DIR`, cargo config, or `<workspace>/target`. Calls are
/// serialised because concurrent cargo runs would only queue on cargo's lock and interleave
/// their output. Blocking: call it before starting servers, or from `spawn_blocking`.
///
/// Panics with cargo's stderr if the build fails (test setup failure).
pub fn built_binary(package: &str, bin: &str, release: bool) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _serial = BUILD.lock().unwrap_or_else(PoisonError::into_inner);

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = workspace_root();
    let mut command = std::process::Command::new(&cargo);
    // `cargo test` gives this process the variables it sets for the crate under test
    // (CARGO_PKG_NAME, CARGO_MANIFEST_DIR, OUT_DIR, ...). Build scripts such as ring's declare
    // `rerun-if-env-changed` on some of them, so passing them on would make the nested build
    // and every later normal build rebuild those crates.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_per_crate_cargo_var) {
            command.env_remove(name);
        }
    }
    // Under `.ci/test-at` the tests run with libfaketime preloaded (a shifted wall clock); the
    // build itself must not, since rustc can deadlock under it.
    command.env_remove("LD_PRELOAD");
    command
        .current_dir(&root)
        .args(["build", "--message-format=json-render-diagnostics"]);
    if release {
        command.args(["--release", "-p", package, "--bin", bin]);
    } else {
        // Under `cargo test --workspace` every crate is already built with the workspace's
        // unified features (dev-dependencies included). Asking for exactly that set again finds
        // everything fresh; `-p {package}` alone would resolve features differently and rebuild
        // the AWS SDK and friends once per binary, minutes each on CI.
        command.args(["--workspace", "--all-targets"]);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("testkit: cannot run `{cargo}`: {e}"));
    if !output.status.success() {
        panic!(
            "testkit: building {package}'s `{bin}`{} failed ({}):\n{}",
            if release { " (release)" } else { "" },
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // Prefer the path cargo reports: it accounts for target-dir settings in cargo config.
    let reported = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| {
            msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == bin
                && msg["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
                // `--all-targets` also builds each binary's unit-test harness, same name.
                && msg["profile"]["test"] == false
        })
        .filter_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .next_back();
    let path = reported.unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        target
            .join(if release { "release" } else { "debug" })
            .join(bin)
    });
    assert!(
        path.is_file(),
        "testkit: cargo built {bin} but {} does not exist",
        path.display()
    );
    path
}

/// Variables cargo sets for one crate's build script, compile or test run, as opposed to the
/// user's own settings (CARGO_HOME, CARGO_TARGET_DIR, CARGO_PROFILE_*, ...), which must stay.
/// A nested `cargo build` must not inherit them (see [`built_binary`]).
pub fn is_per_crate_cargo_var(name: &str) -> bool {
    const EXACT: [&str; 9] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    EXACT.contains(&name) || name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_BIN_EXE_")
}

type OutputBuffer = Arc<Mutex<Vec<u8>>>;

fn lock(buffer: &OutputBuffer) -> MutexGuard<'_, Vec<u8>> {
    buffer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A handle on a process's output that outlives a borrow of the process: what it wrote so far,
/// while another task owns the process.
#[derive(Clone)]
pub struct ProcessOutput(OutputBuffer);

impl ProcessOutput {
    /// Everything the process wrote to stdout and stderr so far (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

/// A running function process, killed when dropped. Its stdout and stderr go, line by line,
/// into one shared buffer (lines of the two streams interleave, never their bytes).
pub struct FunctionProcess {
    child: Child,
    pid: u32,
    output: OutputBuffer,
    /// The tasks copying stdout and stderr into `output`; done at EOF.
    captures: Vec<tokio::task::JoinHandle<()>>,
}

/// The variables that carry the machine's clock into a child started with `env_clear`: under
/// `.ci/test-at` the shifted wall clock (libfaketime's `LD_PRELOAD` and `FAKETIME*`) must reach
/// every process a test starts, or the child would disagree with the test and the fakes about
/// "now" (a sync's execution name is its KST minute). Empty outside `.ci/test-at`.
pub fn clock_env() -> impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)> {
    std::env::vars_os().filter(|(name, _)| {
        name.to_str()
            .is_some_and(|n| n == "LD_PRELOAD" || n.starts_with("FAKETIME"))
    })
}

impl FunctionProcess {
    /// Starts `binary` with only `PATH` and `env` set. Must be called inside a tokio runtime.
    /// Panics if the process cannot be started (test setup failure).
    pub fn spawn(binary: &Path, env: &[(String, String)]) -> FunctionProcess {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
            .envs(clock_env())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("testkit: cannot start {}: {e}", binary.display()));
        let pid = child.id().expect("testkit: a just-spawned child has a pid");
        let output = OutputBuffer::default();
        let mut captures = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            captures.push(tokio::spawn(capture(stdout, output.clone())));
        }
        if let Some(stderr) = child.stderr.take() {
            captures.push(tokio::spawn(capture(stderr, output.clone())));
        }
        FunctionProcess {
            child,
            pid,
            output,
            captures,
        }
    }

    /// Waits (up to `timeout`) until stdout and stderr are read to their end, so that
    /// [`FunctionProcess::output`] of a process that has exited holds everything it wrote: the
    /// exit can be seen before its last lines are read from the pipes.
    pub async fn drain_output(&mut self, timeout: Duration) {
        let captures = std::mem::take(&mut self.captures);
        // A timeout only means a child of the process still holds a pipe open.
        let _ = tokio::time::timeout(timeout, join_captures(captures)).await;
    }

    /// Everything the process wrote to stdout and stderr so far (lossy UTF-8).
    pub fn output(&self) -> String {
        self.output_handle().text()
    }

    /// The same output as [`FunctionProcess::output`], readable without the process.
    pub fn output_handle(&self) -> ProcessOutput {
        ProcessOutput(self.output.clone())
    }

    /// Waits up to `timeout` for a line containing `needle` to appear in the output.
    pub async fn wait_for_output(&self, needle: &str, timeout: Duration) -> bool {
        let start = tokio::time::Instant::now();
        loop {
            if self.output().contains(needle) {
                return true;
            }
            if start.elapsed() >= timeout {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the process and reaps it. Already-exited processes are fine.
    pub async fn kill(&mut self) {
        // Errors mean the process is already gone, which is what we want.
        let _ = self.child.kill().await;
    }

    /// Waits up to `timeout` for the process to exit on its own; `None` if still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// The process id (kept after the process exits).
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

async fn join_captures(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for task in tasks {
        // A capture task does not panic; a cancelled one has nothing more to add.
        let _ = task.await;
    }
}

/// Appends whole lines from `stream` to `buffer` until EOF; raw bytes, so non-UTF-8 output is
/// kept rather than ending the capture.
async fn capture(stream: impl AsyncRead + Unpin, buffer: OutputBuffer) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => lock(&buffer).extend_from_slice(&line),
        }
    }
}

/// Peak RSS of a live process in KiB (`VmHWM` in `/proc/<pid>/status`); `None` once the
/// process is gone or on systems without `/proc`.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_per_crate_cargo_vars_are_dropped() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "OUT_DIR",
            "CARGO_BIN_EXE_x",
        ] {
            assert!(is_per_crate_cargo_var(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_DEV_DEBUG",
            "PATH",
        ] {
            assert!(!is_per_crate_cargo_var(name), "{name}");
        }
    }

    #[test]
    fn peak_rss_of_this_process() {
        let kib = peak_rss_kib(std::process::id()).expect("VmHWM of self");
        assert!(kib > 100, "{kib} KiB");
        assert_eq!(peak_rss_kib(u32::MAX), None);
    }

    /// An executable script in a temp dir (spawn takes no arguments, so the script is the
    /// program).
    fn script(dir: &tempfile::TempDir, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("fn.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawn_clears_env_and_captures_both_streams() {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = script(&dir, "env\necho to-stderr >&2\nexit 3");
        let env = [("TESTKIT_MARK".to_owned(), "seen".to_owned())];
        let mut process = FunctionProcess::spawn(&binary, &env);
        let status = process
            .wait_exit(Duration::from_secs(10))
            .await
            .expect("exits");
        assert_eq!(status.code(), Some(3));
        assert!(
            process
                .wait_for_output("to-stderr", Duration::from_secs(5))
                .await
        );
        let output = process.output();
        assert!(output.contains("TESTKIT_MARK=seen"), "{output}");
        assert!(output.contains("PATH="), "{output}");
        assert!(!output.contains("HOME="), "host env leaked: {output}");
        assert!(!output.contains("CARGO"), "host env leaked: {output}");
        process.kill().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kill_stops_a_running_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = script(&dir, "echo started\nexec sleep 30");
        let mut process = FunctionProcess::spawn(&binary, &[]);
        assert!(
            process
                .wait_for_output("started", Duration::from_secs(10))
                .await
        );
        assert!(
            peak_rss_kib(process.pid()).is_some(),
            "live process has a VmHWM"
        );
        assert!(process.wait_exit(Duration::from_millis(50)).await.is_none());
        process.kill().await;
        assert!(process.wait_exit(Duration::from_secs(5)).await.is_some());
        assert_eq!(
            peak_rss_kib(process.pid()),
            None,
            "reaped process has no /proc entry"
        );
    }
}
