//! The local run's memory, kept in the payload store next to the run's objects:
//!
//! - `runs/{execution}/journal/execution.json`: the input's SHA-256, the status and the outcome,
//!   so a second run of the same name with another input is refused (as `StartExecution` refuses
//!   it) and a succeeded execution is not run again (as Step Functions refuses to redrive it);
//! - `runs/{execution}/journal/tasks/{task}.json`: each successful Task's result, replayed by a
//!   rerun so it resumes at the failed state, like a console redrive.
//!
//! Results are references and counts only (what the state machine carries), never order data.
//! The objects expire with the rest of `runs/` (the bucket's lifecycle rule).

use ordersync_core::keys::check_execution;
use ordersync_core::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::execute::{Failure, Journal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
}

/// `runs/{execution}/journal/execution.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub input_sha256: String,
    pub status: Status,
    /// How many times this name was run (1 for the first run; more after reruns).
    pub runs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// The journal of one execution name in a store.
pub struct StoreJournal<'a, S> {
    store: &'a S,
    execution: String,
}

fn store_failure(e: impl std::fmt::Display) -> Failure {
    Failure::new("Ordersync.Store", format!("local run journal: {e}"))
}

impl<'a, S: Store> StoreJournal<'a, S> {
    pub fn new(store: &'a S, execution: &str) -> Result<Self, Failure> {
        check_execution(execution)
            .map_err(|e| Failure::new("Ordersync.InvalidInput", e.to_string()))?;
        Ok(StoreJournal {
            store,
            execution: execution.to_owned(),
        })
    }

    fn record_key(&self) -> String {
        format!("runs/{}/journal/execution.json", self.execution)
    }

    /// A readable, collision-free key for a task path such as `Windows[3]/Import`.
    fn task_key(&self, task: &str) -> String {
        let readable: String = task
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '.'
                }
            })
            .take(80)
            .collect();
        let digest = hex::encode(&Sha256::digest(task.as_bytes())[..6]);
        format!(
            "runs/{}/journal/tasks/{readable}.{digest}.json",
            self.execution
        )
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, Failure> {
        match self.store.get(key).await.map_err(store_failure)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(store_failure),
        }
    }

    async fn put_json(&self, key: &str, value: &impl Serialize) -> Result<(), Failure> {
        let body = serde_json::to_vec_pretty(value).map_err(store_failure)?;
        self.store.put(key, body).await.map_err(store_failure)
    }

    pub async fn record(&self) -> Result<Option<ExecutionRecord>, Failure> {
        self.get_json(&self.record_key()).await
    }

    pub async fn write_record(&self, record: &ExecutionRecord) -> Result<(), Failure> {
        self.put_json(&self.record_key(), record).await
    }
}

impl<S: Store> Journal for StoreJournal<'_, S> {
    async fn load(&self, task: &str) -> Result<Option<Value>, Failure> {
        self.get_json(&self.task_key(task)).await
    }

    async fn save(&self, task: &str, result: &Value) -> Result<(), Failure> {
        self.put_json(&self.task_key(task), result).await
    }
}

/// The SHA-256 of an execution input (its canonical serde_json text).
pub fn input_digest(input: &Value) -> String {
    hex::encode(Sha256::digest(input.to_string().as_bytes()))
}
