//! The crate graph points one way, and stays so (README "Architecture").
//!
//! - Every workspace crate's normal (non-dev, non-build) dependencies on our own crates are
//!   within the picture's edges: core ← aws, naver, sheets, runner, sandbox ← import |
//!   transform | insert ← local ← cli; sandbox ← testkit (dev only); tests and bench → anything.
//! - No shipped crate's normal tree (as `cargo tree -e normal -p <crate>` resolves it, features
//!   included) contains the test kit, s3s, s3s-fs or axum; the crates with no business with AWS
//!   or Lambda do not link the AWS SDK or the Lambda runtime.
//! - No file in the repository holds private-key material (the sandbox makes its key at run
//!   time), so no release binary can contain one.
//!
//! Each rule is a function over data, and each is shown to fail on a graph or file that breaks
//! it, so the test cannot pass vacuously.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // Under `.ci/test-at` the test runs with libfaketime preloaded; cargo need not (and the
    // test kit's nested builds drop it for the same reason).
    command.current_dir(root()).env_remove("LD_PRELOAD");
    command
}

/// Our crates each crate may depend on in normal builds. `None` = anything (tests, benches).
fn allowed(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "ordersync-core" => &[],
        "ordersync-aws" | "ordersync-naver" | "ordersync-sheets" | "ordersync-runner"
        | "ordersync-sandbox" => &["ordersync-core"],
        "ordersync-transform" => &["ordersync-core", "ordersync-aws"],
        "ordersync-import" => &["ordersync-core", "ordersync-aws", "ordersync-naver"],
        "ordersync-insert" => &["ordersync-core", "ordersync-aws", "ordersync-sheets"],
        "ordersync-local" => &[
            "ordersync-core",
            "ordersync-runner",
            "ordersync-naver",
            "ordersync-sheets",
            "ordersync-import",
            "ordersync-transform",
            "ordersync-insert",
            "ordersync-sandbox",
        ],
        "ordersync-cli" => &[
            "ordersync-core",
            "ordersync-aws",
            "ordersync-runner",
            "ordersync-local",
            "ordersync-sandbox",
        ],
        "ordersync-testkit" => &[
            "ordersync-core",
            "ordersync-aws",
            "ordersync-runner",
            "ordersync-sandbox",
        ],
        "ordersync-bench" | "ordersync-e2e" => return None,
        _ => &[],
    })
}

/// Crates that ship (in a Lambda zip or the `ordersync` command), and what their normal tree
/// must never hold.
const SHIPPED: &[&str] = &[
    "ordersync-core",
    "ordersync-aws",
    "ordersync-naver",
    "ordersync-sheets",
    "ordersync-runner",
    "ordersync-sandbox",
    "ordersync-transform",
    "ordersync-import",
    "ordersync-insert",
    "ordersync-local",
    "ordersync-cli",
];
const NEVER_SHIPPED: &[&str] = &[
    "ordersync-testkit",
    "s3s",
    "s3s-fs",
    "axum",
    "ordersync-bench",
];

/// Crates with no business with AWS or the Lambda runtime.
const NO_AWS: &[&str] = &[
    "ordersync-core",
    "ordersync-naver",
    "ordersync-sheets",
    "ordersync-runner",
    "ordersync-sandbox",
];
const AWS_CRATES: &[&str] = &[
    "aws-sdk-s3",
    "aws-config",
    "aws-sdk-secretsmanager",
    "lambda_runtime",
];

/// Workspace crates and their direct normal dependencies on workspace crates.
fn workspace_edges() -> BTreeMap<String, BTreeSet<String>> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let ours: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|d| ours.contains(*d))
                .map(str::to_owned)
                .collect();
            (p["name"].as_str().unwrap_or_default().to_owned(), deps)
        })
        .collect()
}

fn edge_violations(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    for (krate, deps) in edges {
        let Some(allowed) = allowed(krate) else {
            continue;
        };
        for dep in deps {
            if !allowed.contains(&dep.as_str()) {
                problems.push(format!("{krate} → {dep} is not an edge of the picture"));
            }
        }
    }
    problems
}

/// The package names in `cargo tree -e normal -p krate` (features as a build of it alone).
fn normal_tree(krate: &str) -> BTreeSet<String> {
    let output = cargo()
        .args([
            "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}", "-p", krate,
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {krate}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    tree_names(&String::from_utf8_lossy(&output.stdout))
}

fn tree_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn tree_violations(krate: &str, tree: &BTreeSet<String>) -> Vec<String> {
    let mut forbidden: Vec<&str> = NEVER_SHIPPED.to_vec();
    if NO_AWS.contains(&krate) {
        forbidden.extend(AWS_CRATES);
    }
    forbidden
        .into_iter()
        .filter(|name| tree.contains(*name))
        .map(|name| format!("{krate} links {name} in a normal build"))
        .collect()
}

#[test]
fn dependencies_point_one_way() {
    let edges = workspace_edges();
    for krate in SHIPPED
        .iter()
        .chain(&["ordersync-testkit", "ordersync-bench", "ordersync-e2e"])
    {
        assert!(
            edges.contains_key(*krate),
            "workspace has no {krate}: update this test"
        );
    }
    let problems = edge_violations(&edges);
    assert!(problems.is_empty(), "{problems:#?}");

    // The rule does fail: the shipped binary depending on the test kit, a Lambda on the CLI.
    for (from, to) in [
        ("ordersync-cli", "ordersync-testkit"),
        ("ordersync-import", "ordersync-local"),
        ("ordersync-core", "ordersync-aws"),
    ] {
        let mut broken = edges.clone();
        broken.get_mut(from).expect("crate").insert(to.to_owned());
        assert_eq!(
            edge_violations(&broken).len(),
            1,
            "{from} → {to} must be refused"
        );
    }
}

#[test]
fn shipped_crates_link_no_test_servers_and_clients_no_aws() {
    let mut problems = Vec::new();
    for krate in SHIPPED {
        let tree = normal_tree(krate);
        assert!(
            tree.contains(*krate),
            "cargo tree -p {krate} did not list the crate itself"
        );
        problems.extend(tree_violations(krate, &tree));
    }
    assert!(problems.is_empty(), "{problems:#?}");

    let sample = tree_names("ordersync-naver v0.1.0 (/x)\naws-sdk-s3 v1.0.0\naxum v0.8.0\n");
    assert_eq!(
        tree_violations("ordersync-naver", &sample).len(),
        2,
        "the rule must see both"
    );
    assert_eq!(
        tree_violations("ordersync-import", &sample).len(),
        1,
        "import may link the S3 SDK"
    );
}

/// A PEM private key: a `-----BEGIN … PRIVATE KEY-----` line (spelled in parts here, so this
/// file does not match itself) followed by a line of base64, as opposed to code that only
/// names the marker.
fn holds_private_key(text: &str) -> bool {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim().starts_with(concat!("-----", "BEGIN ")) && line.contains("PRIVATE KEY-----")
        {
            let body = lines.next().unwrap_or_default().trim();
            let base64 = body.len() >= 40
                && body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
            if base64 {
                return true;
            }
        }
    }
    false
}

#[test]
fn no_private_key_material_is_in_the_repository() {
    let output = Command::new("git")
        .current_dir(root())
        .args(["ls-files", "-z"])
        .output()
        .expect("run git ls-files");
    assert!(output.status.success(), "git ls-files failed");
    let mut found = Vec::new();
    let mut checked = 0;
    for path in output.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = root().join(String::from_utf8_lossy(path).as_ref());
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        checked += 1;
        let named_like_a_key = path
            .extension()
            .is_some_and(|e| matches!(e.to_str(), Some("pem" | "der" | "p12" | "key")));
        if named_like_a_key || holds_private_key(&String::from_utf8_lossy(&bytes)) {
            found.push(path.display().to_string());
        }
    }
    assert!(checked > 100, "git listed only {checked} readable files");
    assert!(
        found.is_empty(),
        "private-key material in the repository: {found:?}"
    );

    let begin = concat!("-----", "BEGIN ");
    let sample = format!(
        "x\n{begin}PRIVATE KEY-----\n{}\n",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".repeat(2)
    );
    assert!(holds_private_key(&sample));
    assert!(!holds_private_key(&format!(
        "{begin}PUBLIC KEY-----\n{}\n",
        "A".repeat(64)
    )));
    assert!(!holds_private_key(&format!(
        "k.starts_with(\"{begin}PRIVATE KEY-----\")\n    }})"
    )));
}
