//! The transform stage: NAVER product orders in, sheet rows out.
//!
//! [`mapping`] turns one order into one row (a pure function of the order and the chosen
//! columns), [`mask`] hides personal data when the request asks, [`dedupe`] keeps the most recent
//! change per `productOrderId` and orders the rows, and [`handler`] wires them to the store: read
//! the orders objects named in the event, write one rows object under the deterministic key.
//! [`error`] classifies the stage's failures into Step Functions names at the handler.
//!
//! Nothing here talks to NAVER or Google.

pub mod config;
pub mod dedupe;
pub mod error;
pub mod handler;
pub mod mapping;
pub mod mask;

pub use error::TransformError;
pub use handler::{handle, parse_event};
