//! Test-only servers and fixtures for ordersync.
//!
//! - [`s3`]: an S3-compatible server (s3s + s3s-fs over TCP) that records every PutObject's SSE
//!   header, with clients, stores and child-process environment pointing at it.
//! - [`runtime_api`]: a minimal Lambda Runtime API to run a real Lambda binary against.
//! - [`lambdas`]: built Lambda binaries as the local runner's functions, with cold starts,
//!   crashes, timeouts and per-function peak memory, as the Lambda service runs them.
//! - [`process`]: building workspace binaries and running them as captured child processes.
//! - [`orders`]: generated, realistic NAVER product orders (deterministic per seed).
//! - [`naver`]: a strict, stateful fake NAVER Commerce API (bcrypt-signed tokens, change feed
//!   with paging, details, token-bucket rate limits, injectable faults) over a seeded shop.
//! - [`google`]: a strict, stateful fake Google OAuth token endpoint and Sheets API v4.
//! - [`sfn`]: a strict, stateful fake Step Functions API (awsJson1_0, SigV4-verified):
//!   StartExecution, DescribeExecution, RedriveExecution.
//! - [`moto`]: moto's server as a second, independent Step Functions interpreter (and Secrets
//!   Manager and S3), with a bridge that answers its Lambda `Invoke` calls with our functions.
//!
//! Nothing here is linked into a Lambda; servers run on the calling test's tokio runtime and
//! stop when dropped.

pub mod google;
pub mod lambdas;
pub mod moto;
pub mod naver;
pub mod orders;
pub mod process;
#[cfg(test)]
mod raw_http;
pub mod runtime_api;
pub mod s3;
mod serve;
pub mod sfn;
