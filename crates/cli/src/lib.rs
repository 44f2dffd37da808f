//! The `ordersync` command's library: everything the binary does, so tests and the demo can
//! call it.
//!
//! - [`run`]: `ordersync run` — the deployed `statemachine.asl.json`, executed on this machine
//!   (the wiring of definition and in-process functions is `ordersync-local`'s);
//! - [`demo`]: `ordersync demo` — the same run against the sandbox NAVER and Google servers;
//! - [`progress`], [`summary`]: what a person sees while and after a run;
//! - [`plan`]: `ordersync plan` — an execution input checked as the Plan step will, no side effect;
//! - [`aws`]: `ordersync start`, `status`, `redrive` — the deployed state machine via aws-sdk-sfn
//!   (args / calls / rendering);
//! - [`error`]: the one [`error::CliError`], which knows its exit code; [`input`]: reading an
//!   input file or standard input.

pub mod aws;
pub mod demo;
pub mod error;
pub mod input;
pub mod plan;
pub mod progress;
pub mod run;
pub mod summary;
