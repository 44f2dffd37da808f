//! A Lambda that echoes its event, built on the real `lambda_runtime`, so the test kit can
//! check its Runtime API against the client the ordersync Lambdas use.
//!
//! An event with a string `error_type` fails with that `errorType` (and the event's `message`,
//! if any, as `errorMessage`). An event `{"put": "<key>"}` stores the bytes `echo` at that key
//! in the store named by `ORDERSYNC_STORE`, configured from the environment like the real
//! stages (this checks `S3Server::child_env`). An event with a number `sleep_ms` sleeps that long
//! first (for timeouts and kills). Any other event comes back as
//! `{"echo": <event>}`. Each invocation prints one `echo-lambda: request <id>` line to stdout.
//! It is not an ordersync stage.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use ordersync_aws::AnyStore;
use ordersync_core::store::Store;
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    println!("echo-lambda: request {}", event.context.request_id);
    let payload = event.payload;
    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if let Some(key) = payload.get("put").and_then(Value::as_str) {
        let config =
            ordersync_aws::store::StoreConfig::from_env(&ordersync_core::config::ProcessEnv)
                .map_err(|e| Diagnostic::from(ordersync_core::errors::StepError::from(e)))?;
        let store = AnyStore::open(&config).await.map_err(diagnose)?;
        store.put(key, b"echo".to_vec()).await.map_err(diagnose)?;
        return Ok(json!({ "put": store.uri(key) }));
    }
    match payload.get("error_type").and_then(Value::as_str) {
        Some(error_type) => Err(Diagnostic {
            error_type: error_type.to_owned(),
            error_message: payload
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        }),
        None => Ok(json!({ "echo": payload })),
    }
}

fn diagnose(error: ordersync_core::store::StoreError) -> Diagnostic {
    ordersync_core::errors::StepError::from(error).into()
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    println!("echo-lambda: init");
    lambda_runtime::run(service_fn(handler)).await
}
