//! The `ordersync` binary as a user runs it: README command 1 (`plan`) on the shipped example
//! input, bad input with a clear message and exit code, and `schema` equal to the published file.

use std::process::Command;

use ordersync_testkit::process::built_binary;

fn ordersync(args: &[&str]) -> std::process::Output {
    Command::new(built_binary("ordersync-cli", "ordersync", false))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("ordersync runs")
}

#[test]
fn plan_of_the_example_request_lists_windows_and_columns() {
    let out = ordersync(&["plan", "--input", "examples/request.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["windows"],
        serde_json::json!([
            "20261101T000000-20261102T000000",
            "20261102T000000-20261103T000000",
            "20261103T000000-20261104T000000"
        ])
    );
    assert_eq!(plan["columns"][0], "상품주문번호");
    assert_eq!(plan["tab"], "스마트스토어 주문");
    assert_eq!(plan["kind"], "range");
}

#[test]
fn plan_of_the_example_sync_says_where_a_first_sync_starts() {
    let out = ordersync(&["plan", "--input", "examples/sync.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["kind"], "sync");
    // A sync's windows come from the tab's cursor when it runs.
    assert_eq!(plan["windows"], serde_json::json!([]));
    assert_eq!(plan["since"], "2026-11-01T00:00:00+09:00");
}

#[test]
fn plan_of_bad_input_fails_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"account":{"secret_id":"x"},"range":{"from":"2026-11-05","to":"2026-11-01"},"sheet":{"spreadsheet_id":"id","tab":""}}"#,
    )
    .unwrap();
    let out = ordersync(&["plan", "--input", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "ordersync: invalid input: range.to is before range.from; sheet.tab is empty"
    );
}

#[test]
fn schema_command_prints_the_published_schema() {
    let out = ordersync(&["schema"]);
    assert!(out.status.success());
    let published = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schema/run-request.schema.json"
    ))
    .unwrap();
    assert_eq!(out.stdout, published);
}
