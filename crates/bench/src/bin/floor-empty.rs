//! Benchmark floor: the smallest Lambda on `lambda_runtime` — no clients, no logging setup —
//! answering every event with itself. Its init time and memory are what any Rust Lambda pays.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) },
    ))
    .await
}
