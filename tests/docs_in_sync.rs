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
