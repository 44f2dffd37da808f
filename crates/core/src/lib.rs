//! Shared pieces of the ordersync pipeline: the execution input ([`request::RunRequest`]), the
//! events each stage receives and returns ([`events`]), the compressed NDJSON payload objects
//! that carry the data between stages ([`payload`]), where those objects live ([`store`], keyed by
//! [`keys`]), the NAVER product-order model ([`product_order`]), sheet rows ([`rows`]) and the one table
//! of Step Functions error names ([`errors`]), and where "now" comes from ([`clock`]).
//!
//! This crate does no NAVER or Google I/O; those clients live in their own crates and build on
//! these types.

pub mod backoff;
pub mod budget;
pub mod clock;
pub mod columns;
pub mod config;
pub mod cursor;
pub mod errors;
pub mod events;
pub mod keys;
pub mod latest;
pub mod lease;
pub mod logging;
pub mod naming;
pub mod payload;
pub mod plan;
pub mod product_order;
pub mod refs;
pub mod request;
pub mod rows;
pub mod source;
pub mod store;
pub mod time;
pub mod tls;
pub mod window;

pub use errors::{ErrorName, StepError};
pub use refs::ObjectRef;
pub use request::RunRequest;
pub use store::Store;
