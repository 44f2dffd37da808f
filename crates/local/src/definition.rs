//! The deployed state machine as the local runner runs it: `statemachine.asl.json` (embedded at
//! build time), the function names its placeholders get, and a runner execution of it.
//!
//! The runner itself knows nothing of our functions; this is the one place that ties the
//! definition's `${...FunctionArn}` placeholders to [`crate::functions::LocalFunctions`].

use std::collections::BTreeMap;

use ordersync_core::source::Source;
use ordersync_core::store::Store;
use ordersync_runner::{DefinitionError, Machine, Observer, Options, Outcome, load, run_execution};
use serde_json::Value;

use crate::functions::LocalFunctions;

/// The state machine definition this build carries: the file the SAM template deploys.
pub const DEFINITION: &str = include_str!("../../../statemachine.asl.json");

/// The local name of the import function (what its placeholder becomes).
pub const IMPORT: &str = "ordersync-local-import";
/// The local name of the transform function.
pub const TRANSFORM: &str = "ordersync-local-transform";
/// The local name of the insert function.
pub const INSERT: &str = "ordersync-local-insert";

/// The values `DefinitionSubstitutions` gives the ASL's placeholders in a local run.
pub fn substitutions() -> BTreeMap<String, String> {
    [
        ("ImportFunctionArn", IMPORT),
        ("TransformFunctionArn", TRANSFORM),
        ("InsertFunctionArn", INSERT),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Reads a definition with its placeholders pointing at the in-process functions; anything the
/// runner cannot follow is an error naming the state.
pub fn machine(definition: &str) -> Result<Machine, DefinitionError> {
    load(definition, &substitutions())
}

/// Runs (or resumes) `name` and reports how it ended; `Err` when it could not start.
pub async fn execute<S: Store, N: Source, O: Observer>(
    machine: &Machine,
    store: &S,
    functions: &LocalFunctions<'_, S, N>,
    observer: &O,
    options: Options,
    name: &str,
    input: Value,
) -> Result<Outcome, String> {
    run_execution(machine, store, functions, observer, options, name, input)
        .await
        .map_err(|e| e.to_string())
}
