//! Runs `statemachine.asl.json` locally, without AWS: the same file Step Functions runs.
//!
//! - [`definition`]: reads a definition and refuses, naming the state, every construct this
//!   runner does not implement (so nothing is silently skipped);
//! - [`path`], [`template`]: JSONPath reference paths and payload templates;
//! - [`execute`]: the interpreter (Task via an [`Invoker`], Pass, Map with concurrency, Fail,
//!   Succeed; `Retry` with backoff and jitter, `Catch`, the context object);
//! - [`journal`]: task results and the execution record in the payload store, so a rerun of the
//!   same execution name resumes like a redrive.
//!
//! It does not know the pipeline's functions; the `ordersync` CLI supplies an [`Invoker`] that
//! calls the three handlers in-process.

pub mod definition;
pub mod execute;
pub mod journal;
pub mod path;
pub mod template;

use std::collections::BTreeMap;

use ordersync_core::store::Store;
use serde_json::Value;

pub use definition::{DefinitionError, Machine};
pub use execute::{
    Event, Execution, Failure, Interpreter, Invoker, Journal, NoJournal, Observer, Options, Quiet,
};
pub use journal::{ExecutionRecord, Status, StoreJournal};

/// The name `ordersync run` gives the state machine in the context object.
pub const STATE_MACHINE_NAME: &str = "ordersync";

/// Replaces `${Name}` placeholders as CloudFormation's `DefinitionSubstitutions` does; a
/// placeholder without a value is an error (Step Functions would reject the ARN later).
pub fn substitute(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or("an unclosed `${` in the definition")?;
        let name = &after[..end];
        let value = values
            .get(name)
            .ok_or_else(|| format!("no value for the placeholder `${{{name}}}`"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every `${Name}` placeholder in a definition's text.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    names.sort();
    names.dedup();
    names
}

/// Reads a definition's text, substituting placeholders first.
pub fn load(text: &str, values: &BTreeMap<String, String>) -> Result<Machine, DefinitionError> {
    let bad = |problem: String| DefinitionError {
        state: "(definition)".into(),
        problem,
    };
    let substituted = substitute(text, values).map_err(bad)?;
    let value: Value =
        serde_json::from_str(&substituted).map_err(|e| bad(format!("not JSON: {e}")))?;
    definition::parse(&value)
}

/// How a local execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded {
        output: Value,
        runs: u32,
    },
    Failed {
        failure: Failure,
        runs: u32,
    },
    /// The name already ran to success; nothing was run (Step Functions would refuse both a
    /// redrive and a new execution with this name).
    AlreadySucceeded {
        output: Value,
    },
}

/// Why a local execution could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error(
        "execution `{0}` already exists with a different input (ExecutionAlreadyExists); choose another --execution-name"
    )]
    NameInUse(String),
    #[error("{0}")]
    Journal(Failure),
}

/// Runs (or resumes) execution `name` on `input`, journaling in `store`.
pub async fn run_execution<S: Store, I: Invoker, O: Observer>(
    machine: &Machine,
    store: &S,
    invoker: &I,
    observer: &O,
    options: Options,
    name: &str,
    input: Value,
) -> Result<Outcome, StartError> {
    let journal = StoreJournal::new(store, name).map_err(StartError::Journal)?;
    let digest = journal::input_digest(&input);
    let previous = journal.record().await.map_err(StartError::Journal)?;
    let runs = match &previous {
        Some(r) if r.input_sha256 != digest => return Err(StartError::NameInUse(name.to_owned())),
        Some(ExecutionRecord {
            status: Status::Succeeded,
            output: Some(output),
            ..
        }) => {
            return Ok(Outcome::AlreadySucceeded {
                output: output.clone(),
            });
        }
        Some(r) => r.runs + 1,
        None => 1,
    };
    let mut record = ExecutionRecord {
        input_sha256: digest,
        status: Status::Running,
        runs,
        output: None,
        failure: None,
    };
    journal
        .write_record(&record)
        .await
        .map_err(StartError::Journal)?;
    let interpreter = Interpreter {
        invoker,
        journal: &journal,
        observer,
        options,
        execution: Execution {
            name: name.to_owned(),
            input,
            state_machine: STATE_MACHINE_NAME.to_owned(),
            start_time: chrono::Utc::now(),
        },
    };
    let outcome = match interpreter.run(machine).await {
        Ok(output) => {
            record.status = Status::Succeeded;
            record.output = Some(output.clone());
            Outcome::Succeeded { output, runs }
        }
        Err(failure) => {
            record.status = Status::Failed;
            record.failure = Some(failure.clone());
            Outcome::Failed { failure, runs }
        }
    };
    journal
        .write_record(&record)
        .await
        .map_err(StartError::Journal)?;
    Ok(outcome)
}
