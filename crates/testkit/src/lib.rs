//! Test-only servers and fixtures for ordersync.
//!
//! - [`s3`]: an S3-compatible server (s3s + s3s-fs over TCP) that records every PutObject's SSE
//!   header, with clients, stores and child-process environment pointing at it.
//! - [`runtime_api`]: a minimal Lambda Runtime API to run a real Lambda binary against.
//! - [`lambdas`]: built Lambda binaries as the local runner's functions, with cold starts,
//!   crashes, timeouts and per-function peak memory, as the Lambda service runs them.
//! - [`process`]: building workspace binaries and running them as captured child processes.
//! - [`orders`], [`naver`], [`google`]: the sandbox's generated orders and its fake NAVER and
//!   Google, re-exported from `ordersync-sandbox` (which the `ordersync demo` ships) so tests
//!   name every local stand-in through one crate.
//! - [`sfn`]: a strict, stateful fake Step Functions API (awsJson1_0, SigV4-verified):
//!   StartExecution, DescribeExecution, RedriveExecution.
//! - [`moto`]: moto's server as a second, independent Step Functions interpreter (and Secrets
//!   Manager and S3), with a bridge that answers its Lambda `Invoke` calls with our functions.
//!
//! A dev-dependency only: no shipped crate depends on it (`tests/architecture.rs` holds that).
//! Servers run on the calling test's tokio runtime and stop when dropped.

pub mod lambdas;
pub mod moto;
pub mod process;
pub mod runtime_api;
pub mod s3;
mod serve;
pub mod sfn;

pub use ordersync_sandbox::{google, naver, orders};
