//! Where configuration comes from, and the one table of every variable ordersync reads.
//!
//! - [`Env`]: the environment abstraction every `from_env` reads through. Functions use
//!   [`ProcessEnv`]; tests fill a [`MapEnv`] (and [`RecordingEnv`] lists what was read).
//! - [`VARIABLES`]: each variable's name, default, meaning and readers. The README's
//!   configuration table is rendered from it ([`markdown_table`]) and `tests/docs_in_sync.rs`,
//!   `tests/infra.rs` (the SAM template's function environments) and the functions' own config
//!   tests hold the code, the template and the docs to it.
//! - [`ConfigError`]: a variable that is set but unusable, always `Ordersync.Config`.
//!
//! What is not here: the variables' parsing rules, which live with the type each one
//! configures (`PlanConfig`, `LeaseConfig`, `NaverConfig`, `SheetsConfig`, the store), and the
//! AWS SDK's own variables, which the SDK reads itself (listed here for the docs).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::errors::{Classify, ErrorName};

/// Reads configuration variables by name.
pub trait Env: Send + Sync {
    /// The value of `name`; `None` when unset. An empty value counts as unset everywhere
    /// (CloudFormation cannot remove a variable, only blank it).
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

/// An environment from a map, for tests and tools.
#[derive(Debug, Clone, Default)]
pub struct MapEnv(pub BTreeMap<String, String>);

impl<const N: usize> From<[(&str, &str); N]> for MapEnv {
    fn from(pairs: [(&str, &str); N]) -> MapEnv {
        MapEnv(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }
}

/// An environment that remembers every name asked for, so a test can hold a config type's
/// reads against [`VARIABLES`].
#[derive(Debug, Default)]
pub struct RecordingEnv<E> {
    inner: E,
    asked: Mutex<Vec<String>>,
}

impl<E: Env> RecordingEnv<E> {
    pub fn new(inner: E) -> Self {
        RecordingEnv {
            inner,
            asked: Mutex::new(Vec::new()),
        }
    }

    /// Every name asked for so far, in order, without repeats.
    pub fn asked(&self) -> Vec<String> {
        let asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        let mut seen = Vec::new();
        for name in asked.iter() {
            if !seen.contains(name) {
                seen.push(name.clone());
            }
        }
        seen
    }
}

impl<E: Env> Env for RecordingEnv<E> {
    fn var(&self, name: &str) -> Option<String> {
        self.asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(name.to_owned());
        self.inner.var(name)
    }
}

/// A variable that is set but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    /// What is wrong and what is accepted, e.g. "must be a whole number between 1 and 40".
    /// Never the value itself: a mistyped secret must not reach a log.
    pub problem: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            variable,
            problem: problem.into(),
        }
    }
}

impl Classify for ConfigError {
    fn error_name(&self) -> ErrorName {
        ErrorName::Config
    }
}

/// Who reads a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Import,
    Transform,
    Insert,
    /// `ordersync start`, `status`, `redrive`.
    Operator,
}

impl Reader {
    /// The binary a function deploys (`target/lambda/{binary}`), for the functions.
    pub fn binary(self) -> Option<&'static str> {
        match self {
            Reader::Import => Some("import"),
            Reader::Transform => Some("transform"),
            Reader::Insert => Some("insert"),
            Reader::Operator => None,
        }
    }
}

const FUNCTIONS: &[Reader] = &[Reader::Import, Reader::Transform, Reader::Insert];

/// Whether the SAM template sets a variable on the functions that read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InTemplate {
    /// Every function that reads it must have it.
    Required,
    /// The template may set it.
    Optional,
    /// Never in the template: local runs only (credentials in plain variables), the operator's
    /// shell, or an `AWS_*` name Lambda reserves or sets itself.
    Never,
}

/// One configuration variable.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub readers: &'static [Reader],
    /// Where it applies, when narrower than "whoever reads it" (e.g. "local runs").
    pub scope: &'static str,
    /// The default as the README says it.
    pub default: &'static str,
    pub meaning: &'static str,
    pub template: InTemplate,
    /// Read by the AWS SDK itself, not through [`Env`].
    pub sdk: bool,
}

impl Variable {
    const fn ours(
        name: &'static str,
        readers: &'static [Reader],
        default: &'static str,
        meaning: &'static str,
        template: InTemplate,
    ) -> Variable {
        Variable {
            name,
            readers,
            scope: "",
            default,
            meaning,
            template,
            sdk: false,
        }
    }

    const fn local(mut self) -> Variable {
        self.scope = "local runs";
        self
    }

    const fn sdk(mut self) -> Variable {
        self.sdk = true;
        self
    }
}

use InTemplate::{Never, Optional, Required};
use Reader::{Import, Insert, Operator};

/// Every variable ordersync or its SDKs read, in the README's order.
pub const VARIABLES: &[Variable] = &[
    Variable::ours(
        "ORDERSYNC_STORE",
        FUNCTIONS,
        "— (required in Lambda)",
        "`s3://bucket/prefix` or a local directory",
        Required,
    ),
    Variable::ours(
        "ORDERSYNC_S3_PATH_STYLE",
        FUNCTIONS,
        "`false`",
        "bucket in the path, for S3-compatible servers",
        Optional,
    ),
    Variable::ours(
        "ORDERSYNC_S3_KMS_KEY_ID",
        FUNCTIONS,
        "unset → SSE-S3 (AES256)",
        "KMS key for SSE-KMS on every payload object",
        Optional,
    ),
    Variable::ours(
        "AWS_LAMBDA_LOG_LEVEL",
        FUNCTIONS,
        "`info`",
        "log level (JSON logs on stdout); Lambda sets it from `LoggingConfig`",
        Never,
    ),
    Variable::ours(
        "RUST_LOG",
        FUNCTIONS,
        "`info`",
        "log level when `AWS_LAMBDA_LOG_LEVEL` is unset",
        Optional,
    ),
    Variable::ours(
        "ORDERSYNC_MAX_RANGE_DAYS",
        &[Import, Operator],
        "`92`",
        "longest range one execution may import (Plan step; `ordersync start` checks it first), 1–3660",
        Optional,
    ),
    Variable::ours(
        "ORDERSYNC_RECHECK_MAX",
        &[Import],
        "`3000`",
        "open orders one sync re-reads by id (least recently read first; 300 per `/query` call), 0–300000",
        Optional,
    ),
    Variable::ours(
        "ORDERSYNC_MAP_CONCURRENCY",
        &[Import],
        "`2`",
        "windows imported at once (the Map's `MaxConcurrencyPath`), 1–40",
        Required,
    ),
    Variable::ours(
        "NAVER_COMMERCE_BASE_URL",
        &[Import],
        "`https://api.commerce.naver.com/external`",
        "NAVER API base (the sandbox's fake in tests and the demo)",
        Optional,
    ),
    Variable::ours(
        "NAVER_CREDENTIALS_FILE",
        &[Import],
        "unset",
        "JSON `{secret_id: {client_id, client_secret}}` (agency: plus `mode: \"agency\"`, `account_id`); unknown ids are `Ordersync.InvalidInput`",
        Never,
    )
    .local(),
    Variable::ours(
        "NAVER_CLIENT_ID",
        &[Import],
        "unset",
        "with `NAVER_CLIENT_SECRET`: one application for every account",
        Never,
    )
    .local(),
    Variable::ours(
        "NAVER_CLIENT_SECRET",
        &[Import],
        "unset",
        "the application secret for `NAVER_CLIENT_ID`",
        Never,
    )
    .local(),
    Variable::ours(
        "NAVER_AGENCY_ACCOUNT_ID",
        &[Import],
        "unset → own store (`type=SELF`)",
        "agency mode only: the linked seller's account id, sent with `type=SELLER` on the `/partner` base path",
        Never,
    )
    .local(),
    Variable::ours(
        "GOOGLE_SHEETS_BASE_URL",
        &[Insert],
        "`https://sheets.googleapis.com/`",
        "Sheets API root (the sandbox's fake in tests and the demo)",
        Optional,
    ),
    Variable::ours(
        "GOOGLE_SHEETS_MAX_REQUEST_BYTES",
        &[Insert],
        "`2000000`",
        "value writes are split to stay under this body size (Google advises 2 MB); ≥ 4096",
        Optional,
    ),
    Variable::ours(
        "GOOGLE_APPLICATION_CREDENTIALS",
        &[Insert],
        "unset",
        "path of the service-account key JSON (wins over the secret)",
        Never,
    )
    .local(),
    Variable::ours(
        "ORDERSYNC_GOOGLE_SECRET_ID",
        &[Insert],
        "— (required in Lambda)",
        "Secrets Manager secret holding the service-account key JSON",
        Required,
    ),
    Variable::ours(
        "ORDERSYNC_LEASE_TTL_S",
        &[Insert],
        "`300`",
        "lease lifetime per spreadsheet+tab, 10–3600 s; renewed before every write attempt",
        Optional,
    ),
    Variable::ours(
        "ORDERSYNC_STATE_MACHINE_ARN",
        &[Operator],
        "—",
        "the deployed state machine (or `--state-machine-arn`)",
        Never,
    ),
    Variable::ours(
        "AWS_ENDPOINT_URL_S3",
        FUNCTIONS,
        "AWS",
        "SDK endpoint override for S3 (S3-compatible servers)",
        Never,
    )
    .sdk(),
    Variable::ours(
        "AWS_ENDPOINT_URL_SFN",
        &[Operator],
        "AWS",
        "SDK endpoint override for Step Functions",
        Never,
    )
    .sdk(),
    Variable::ours(
        "AWS_ENDPOINT_URL",
        &[Import, Reader::Transform, Insert, Operator],
        "AWS",
        "SDK endpoint override for every AWS service",
        Never,
    )
    .sdk(),
    Variable::ours(
        "AWS_REGION",
        &[Import, Reader::Transform, Insert, Operator],
        "Lambda's",
        "SDK region (credentials come from the SDK's usual chain)",
        Never,
    )
    .sdk(),
];

/// The variable called `name`.
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

fn readers_text(variable: &Variable) -> String {
    let text = if variable.readers == FUNCTIONS {
        "all functions".to_owned()
    } else {
        variable
            .readers
            .iter()
            .map(|r| match r {
                Reader::Import => "import",
                Reader::Transform => "transform",
                Reader::Insert => "insert",
                Reader::Operator => "`ordersync start/status/redrive`",
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (variable.scope, variable.sdk) {
        ("", false) => text,
        ("", true) => format!("{text} (AWS SDK)"),
        (scope, _) => format!("{text} ({scope})"),
    }
}

/// The README's configuration table, rendered from [`VARIABLES`].
pub fn markdown_table() -> String {
    let mut table = String::from("| variable | read by | default | meaning |\n|---|---|---|---|\n");
    for v in VARIABLES {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            v.name,
            readers_text(v),
            v.default,
            v.meaning
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_read_by_someone() {
        let mut seen = std::collections::HashSet::new();
        for v in VARIABLES {
            assert!(seen.insert(v.name), "{} twice", v.name);
            assert!(!v.readers.is_empty(), "{} has no reader", v.name);
            assert!(
                !(v.template != Never && v.name.starts_with("AWS_")),
                "{}: functions may not set AWS_* variables",
                v.name
            );
        }
    }

    #[test]
    fn blank_values_count_as_unset() {
        let env = MapEnv::from([("A", "  "), ("B", "x")]);
        assert_eq!(env.var("A"), None);
        assert_eq!(env.var("B").as_deref(), Some("x"));
        let recording = RecordingEnv::new(env);
        recording.var("B");
        recording.var("C");
        recording.var("B");
        assert_eq!(recording.asked(), ["B", "C"]);
    }

    #[test]
    fn the_table_has_one_row_per_variable() {
        let table = markdown_table();
        assert_eq!(table.lines().count(), VARIABLES.len() + 2);
        assert!(table.contains("| `ORDERSYNC_STORE` | all functions |"));
    }
}
