//! The pipeline's three functions, called in-process by the local runner.
//!
//! [`LocalFunctions`] is the runner's [`Invoker`]: it answers the `FunctionName`s that
//! [`crate::definition::substitutions`] puts into the definition by calling the same handlers the Lambda `main`s
//! call, with a deadline derived from each function's Lambda timeout, and turns a handler's
//! [`StepError`] into what Step Functions would see (error name; cause = the function's
//! `{"errorType","errorMessage"}` JSON).
//!
//! It does not build clients from the environment by itself: [`LocalParts::open`] does, from a
//! [`LocalConfig`], for `ordersync run`; the demo and the tests build their own against the sandbox servers.

use std::sync::Arc;
use std::time::Duration;

use ordersync_core::clock::Clock;
use ordersync_core::config::Env;
use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::lease::LeaseConfig;
use ordersync_core::plan::PlanConfig;
use ordersync_core::source::Source;
use ordersync_core::store::Store;
use ordersync_import::config::ImportSettings;
use ordersync_import::credentials::AnyCredentials;
use ordersync_insert::config::InsertSettings;
use ordersync_naver::{NaverSource, config::http_client};
use ordersync_runner::{Failure, Invoker};
use ordersync_sheets::SheetsClient;
use serde_json::{Value, json};

use crate::definition::{IMPORT, INSERT, TRANSFORM};

/// The Lambda timeouts (as in `infra/template.yaml`) of the functions that wait on an API and
/// stop retrying before them; transform makes no API call and has no deadline.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub import: Duration,
    pub insert: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            import: Duration::from_secs(900),
            insert: Duration::from_secs(900),
        }
    }
}

/// The three handlers over one store, one order source and one Sheets client.
pub struct LocalFunctions<'a, S, N> {
    pub store: &'a S,
    pub source: &'a N,
    pub sheets: &'a SheetsClient,
    pub plan: PlanConfig,
    pub lease: LeaseConfig,
    pub timeouts: Timeouts,
    /// "Now" for the plan and the lease (tests pin it).
    pub clock: Arc<dyn Clock>,
}

impl<'a, S, N> LocalFunctions<'a, S, N> {
    /// The functions with the Lambdas' defaults: plan limits, lease lifetime and timeouts.
    pub fn new(store: &'a S, source: &'a N, sheets: &'a SheetsClient) -> Self {
        LocalFunctions {
            store,
            source,
            sheets,
            plan: PlanConfig::default(),
            lease: LeaseConfig::default(),
            timeouts: Timeouts::default(),
            clock: ordersync_core::clock::system(),
        }
    }
}

/// What Step Functions reports for a function error: the name, and the error payload as cause.
pub fn failure_of(error: StepError) -> Failure {
    let cause = json!({"errorType": error.name.as_str(), "errorMessage": error.message});
    Failure::new(error.name.as_str(), cause.to_string())
}

fn deadline_ms(timeout: Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now + timeout).as_millis() as u64
}

fn to_value(v: impl serde::Serialize) -> Result<Value, StepError> {
    serde_json::to_value(v)
        .map_err(|e| StepError::new(ErrorName::Internal, format!("answer not serialisable: {e}")))
}

/// The three functions a definition may name.
#[derive(Debug, Clone, Copy)]
enum Function {
    Import,
    Transform,
    Insert,
}

impl Function {
    fn named(name: &str) -> Option<Function> {
        match name {
            IMPORT => Some(Function::Import),
            TRANSFORM => Some(Function::Transform),
            INSERT => Some(Function::Insert),
            _ => None,
        }
    }
}

impl<S: Store, N: Source> LocalFunctions<'_, S, N> {
    async fn call(&self, function: Function, payload: Value) -> Result<Value, StepError> {
        match function {
            Function::Import => {
                let deadline = ordersync_import::deadline_from(deadline_ms(self.timeouts.import));
                let call = ordersync_import::parse_call(payload)?;
                ordersync_import::handle_call(
                    self.store,
                    self.source,
                    &self.plan,
                    self.clock.as_ref(),
                    call,
                    deadline,
                )
                .await
            }
            Function::Transform => {
                let event = ordersync_transform::parse_event(payload)?;
                to_value(ordersync_transform::handle(self.store, event).await?)
            }
            Function::Insert => {
                let deadline = ordersync_core::budget::deadline_from(
                    deadline_ms(self.timeouts.insert),
                    Duration::from_secs(10),
                );
                let event = ordersync_insert::parse_event(payload)?;
                to_value(
                    ordersync_insert::handle(
                        self.store,
                        self.sheets,
                        &self.lease,
                        self.clock.as_ref(),
                        event,
                        deadline,
                    )
                    .await?,
                )
            }
        }
    }
}

impl<S: Store, N: Source> Invoker for LocalFunctions<'_, S, N> {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        let Some(known) = Function::named(function) else {
            // What Lambda answers for a function that does not exist.
            return Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function}"),
            ));
        };
        self.call(known, payload).await.map_err(failure_of)
    }
}

/// What a local run reads from its environment: the import and insert functions' own
/// configuration, without the store (`ordersync run` names its own with `--store`).
pub struct LocalConfig {
    pub import: ImportSettings,
    pub insert: InsertSettings,
}

impl LocalConfig {
    /// The variables the Lambdas read (see `ordersync_core::config::VARIABLES`), except
    /// `ORDERSYNC_STORE`.
    pub fn from_env(env: &dyn Env) -> Result<Self, StepError> {
        Ok(LocalConfig {
            import: ImportSettings::from_env(env)?,
            insert: InsertSettings::from_env(env)?,
        })
    }
}

/// Clients for a local run against the real (or configured) endpoints, from a [`LocalConfig`].
pub struct LocalParts {
    pub source: NaverSource<AnyCredentials>,
    pub sheets: SheetsClient,
    pub plan: PlanConfig,
    pub lease: LeaseConfig,
}

impl LocalParts {
    pub async fn open(config: LocalConfig) -> Result<Self, StepError> {
        let LocalConfig { import, insert } = config;
        // One client serves every Map iteration here, so it keeps the whole rate (no share).
        let http = http_client(&import.naver)?;
        let credentials = AnyCredentials::open(import.credentials).await?;
        let key = insert.key.load().await?;
        let sheets = SheetsClient::new(&key, insert.sheets).await?;
        Ok(LocalParts {
            source: NaverSource::new(http, import.naver, credentials),
            sheets,
            plan: import.plan,
            lease: insert.lease,
        })
    }

    pub fn functions<'a, S: Store>(
        &'a self,
        store: &'a S,
    ) -> LocalFunctions<'a, S, NaverSource<AnyCredentials>> {
        LocalFunctions {
            store,
            source: &self.source,
            sheets: &self.sheets,
            plan: self.plan,
            lease: self.lease,
            timeouts: Timeouts::default(),
            clock: ordersync_core::clock::system(),
        }
    }
}
