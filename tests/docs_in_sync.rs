//! The README's error-name table lists exactly the names `ordersync_core::errors` defines, with
//! the same retry decision. (Once the state machine exists, its Retry/Catch names join this.)

use ordersync_core::ErrorName;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md")
}

#[test]
fn readme_error_table_matches_the_code() {
    let readme = readme();
    let rows: Vec<(String, bool, String)> = readme
        .lines()
        .filter(|l| l.starts_with("| `Ordersync."))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let retried = match cells[1] {
                "yes" => true,
                "no" => false,
                other => panic!("retried column must be yes/no, got {other:?} in {l}"),
            };
            (
                cells[0].trim_matches('`').to_owned(),
                retried,
                cells[2].to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, bool, String)> = ErrorName::ALL
        .into_iter()
        .map(|n| (n.as_str().to_owned(), n.retryable(), n.meaning().to_owned()))
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn readme_names_the_test_command_ci_runs() {
    let readme = readme();
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/run"))
        .expect(".ci/run");
    let command = "cargo test --workspace --locked";
    assert!(readme.contains(command), "README must show `{command}`");
    assert!(
        ci.lines().any(|l| l.trim() == command),
        ".ci/run must run `{command}` as-is"
    );
}

/// The README's Python naming function (the first ```python block of "Starting runs from a
/// backend", standard library only) gives the names `ordersync_core::naming` gives.
#[test]
fn readme_python_execution_name_matches_the_rust_rule() {
    use ordersync_core::RunRequest;
    use ordersync_core::naming::execution_name;

    let readme = readme();
    let section = readme
        .split_once("\n## Starting runs from a backend\n")
        .expect("README has a section \"## Starting runs from a backend\"")
        .1;
    let block = section
        .split_once("```python\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("that section has a ```python block")
        .0;
    assert!(
        block.contains("def execution_name(") && !block.contains("boto3"),
        "the first python block must be the pure naming function:\n{block}"
    );
    let rest = section.split_once(block).unwrap().1;
    let boto = rest
        .split_once("```python\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("a second ```python block, using boto3")
        .0;
    for needle in [
        "start_execution(",
        "name=name",
        "ExecutionAlreadyExists",
        "describe_execution(",
    ] {
        assert!(boto.contains(needle), "the boto3 block must use {needle}");
    }

    let requests = [
        serde_json::json!({
            "account": {"secret_id": "ordersync/naver/my-store"},
            "range": {"from": "2026-11-01", "to": "2026-11-03"},
            "sheet": {"spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd", "tab": "스마트스토어 주문"},
            "columns": {"preset": "standard", "mask": ["phone"]}
        }),
        serde_json::json!({
            "account": {"secret_id": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:naver-Ab12"},
            "range": {"from": "2026-11-01T09:30:00.123+09:00", "to": "2026-11-02T00:00:00Z"},
            "sheet": {"spreadsheet_id": "x", "tab": "주문 (2026) \"확정\" / 취소\\반품 😀"}
        }),
        serde_json::json!({
            "account": {"secret_id": "ordersync/naver/my-store"},
            "range": {"from": "2026-11-01", "to": "2026-11-03", "by": "changed"},
            "sheet": {"spreadsheet_id": "x", "tab": "t"}
        }),
        serde_json::json!({
            "account": {"secret_id": "ordersync/naver/my-store"},
            "since": "2026-11-01",
            "sheet": {"spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd", "tab": "스마트스토어 주문"}
        }),
    ];
    // A sync is named by its KST minute: 23:59:30 UTC is 08:59 the next day in Seoul.
    let now = "2026-11-24T23:59:30+00:00";
    let script = format!(
        "{block}\n\nimport json, sys\nnow = datetime.datetime.fromisoformat(\"{now}\")\nfor arg in sys.argv[1:]:\n    print(execution_name(json.loads(arg), now))\n"
    );
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .args(requests.iter().map(|r| r.to_string()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test runs the README's Python with `python3`, which could not be started \
                 ({e}); install Python 3 (CI has 3.11) and put python3 on PATH"
            )
        });
    assert!(
        output.status.success(),
        "python3 failed on the README's block:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let python: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let rust: Vec<String> = requests
        .iter()
        .map(|r| {
            let request = RunRequest::parse(r.to_string().as_bytes()).unwrap();
            execution_name(&request, now.parse().unwrap())
        })
        .collect();
    assert_eq!(python, rust);
    assert!(rust[3].starts_with("os-sync-202611250859-"), "{}", rust[3]);
    assert_eq!(rust[0], "os-20261101-20261103-d1bed2285c6f6b68");

    // The boto3 block is not run (no AWS here), but it must at least be valid Python.
    let parsed = std::process::Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(sys.argv[1])", boto])
        .output()
        .expect("python3 ran above");
    assert!(
        parsed.status.success(),
        "the README's boto3 block is not valid Python:\n{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    assert!(
        section.contains(&rust[0]),
        "the README's example name is the example request's"
    );
}
