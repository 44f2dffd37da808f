//! The sandbox `ordersync demo` runs against, and the fakes every test uses: strict, stateful
//! stand-ins for NAVER and Google on 127.0.0.1, built from `../shared/reference/`.
//!
//! - [`orders`]: generated, realistic NAVER product orders (deterministic per seed).
//! - [`naver`]: a strict, stateful fake NAVER Commerce API (bcrypt-signed tokens, change feed
//!   with paging, details, token-bucket rate limits, injectable faults) over a seeded shop.
//! - [`google`]: a strict, stateful fake Google OAuth token endpoint and Sheets API v4. Its
//!   service-account key pair is made at run time ([`google::sandbox_key`]): no private key is
//!   compiled into this crate, and so into no `ordersync` binary.
//! - [`serve`]: the accept loop and response helpers the servers share (bare hyper).
//! - [`raw_http`]: a byte-exact HTTP/1.1 client for tests of these servers.
//!
//! What is not here: anything AWS (S3, the Lambda Runtime API, Step Functions, moto). That is
//! the test kit's, which is never linked into a shipped binary. Servers run on the calling
//! tokio runtime and stop when dropped.

pub mod google;
pub mod naver;
pub mod orders;
pub mod raw_http;
pub mod serve;
