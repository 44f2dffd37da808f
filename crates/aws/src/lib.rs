//! ordersync on AWS: the pieces that talk to AWS services through the AWS SDK, kept out of
//! `core` so that a crate with no business with AWS (the NAVER and Sheets clients, the runner,
//! the sandbox) does not link the SDK.
//!
//! - [`config`]: the process-wide AWS configuration and its rustls + ring HTTPS client;
//! - [`s3`]: the S3 payload store ([`s3::S3Store`], core's `Store` trait);
//! - [`store`]: [`store::AnyStore`], S3 or a local directory, chosen from a location;
//! - [`secrets`]: one secret string from Secrets Manager, with one error classification.
//!
//! Step Functions calls (the operator commands) are the CLI's; Lambda's own runtime is each
//! function's `main`.

pub mod config;
pub mod s3;
pub mod secrets;
pub mod store;

pub use s3::S3Store;
pub use store::AnyStore;
