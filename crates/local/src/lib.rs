//! The pipeline wired for a run on one machine: the one place that knows the definition file,
//! our function names and how the runner reaches the three handlers in-process. The CLI, the
//! end-to-end tests and the benchmarks all use it, so a local run is the same run everywhere.
//!
//! - [`definition`]: `statemachine.asl.json`, its placeholder values, a runner execution;
//! - [`functions`]: the three Lambda handlers as the runner's [`ordersync_runner::Invoker`],
//!   and their clients from the environment for `ordersync run`;
//! - [`sandbox`]: those clients pointed at the sandbox's fake NAVER and Google.
//!
//! It starts no server and reads no file; the runner stays unaware of our functions.

pub mod definition;
pub mod functions;
pub mod sandbox;
