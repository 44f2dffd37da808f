//! Structured JSON logs through `tracing`.
//!
//! One JSON object per line on stdout (CloudWatch parses it), with the span fields — `run`
//! (execution name), `stage`, `window` — on every line. Log only ids, counts and codes: never
//! credentials, tokens, or customer names, phones and addresses. The level comes from
//! `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls), else `RUST_LOG`, else `info`.

use tracing_subscriber::EnvFilter;

use crate::config::Env;

/// Installs the JSON subscriber once per process (later calls do nothing).
pub fn init(env: &dyn Env) {
    let level = env
        .var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| env.var("RUST_LOG"))
        .unwrap_or_else(|| "info".to_owned());
    let filter =
        EnvFilter::try_new(level.to_ascii_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}
