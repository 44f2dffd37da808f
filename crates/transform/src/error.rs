//! The transform stage's failures, each classified into its Step Functions name.
//!
//! The handler works in [`TransformError`]; [`crate::handle`] turns it into a
//! [`StepError`](ordersync_core::StepError) once, at the boundary, through the [`Classify`] impl
//! below. Library errors pass through unchanged (`transparent`); a bad order record keeps the
//! object it came from in its message and is classified by [`RecordError`] itself.

use ordersync_core::columns::ColumnError;
use ordersync_core::errors::{Classify, ErrorName};
use ordersync_core::keys::BadExecutionName;
use ordersync_core::payload::PayloadError;
use ordersync_core::store::{ReadError, StoreError};
use ordersync_core::window::WindowError;

use crate::dedupe::RecordError;

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The event's execution name cannot be used in keys.
    #[error(transparent)]
    Execution(#[from] BadExecutionName),
    /// The event's window breaks a rule.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// The event's column choice cannot be resolved.
    #[error(transparent)]
    Columns(#[from] ColumnError),
    /// The orders reference is not in our store, the object does not decode, or the rows
    /// object cannot be encoded.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The orders object could not be read or verified.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The rows object could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The orders object is another window's.
    #[error("payload object {uri} holds window {holds}, the event asks for {asks}")]
    OtherWindow {
        uri: String,
        holds: String,
        asks: String,
    },
    /// An order record cannot become a row.
    #[error("payload object {uri}: {source}")]
    Record { uri: String, source: RecordError },
}

impl Classify for TransformError {
    fn error_name(&self) -> ErrorName {
        match self {
            TransformError::Execution(e) => e.error_name(),
            TransformError::Window(_) | TransformError::Columns(_) => ErrorName::InvalidInput,
            TransformError::Payload(e) => e.error_name(),
            TransformError::Read(e) => e.error_name(),
            TransformError::Store(e) => e.error_name(),
            TransformError::OtherWindow { .. } => ErrorName::Payload,
            TransformError::Record { source, .. } => source.error_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordersync_core::StepError;

    #[test]
    fn each_failure_keeps_its_name_and_message_at_the_boundary() {
        let cases = [
            (
                TransformError::Window(WindowError::Empty),
                ErrorName::InvalidInput,
                "window.to is not after window.from".to_owned(),
            ),
            (
                TransformError::Record {
                    uri: "s3://b/k".into(),
                    source: RecordError::EmptyKey { index: 3 },
                },
                ErrorName::Payload,
                "payload object s3://b/k: order record 3 has an empty productOrderId".to_owned(),
            ),
            (
                TransformError::OtherWindow {
                    uri: "u".into(),
                    holds: "a".into(),
                    asks: "b".into(),
                },
                ErrorName::Payload,
                "payload object u holds window a, the event asks for b".to_owned(),
            ),
        ];
        for (error, name, message) in cases {
            let step = StepError::from(error);
            assert_eq!((step.name, step.message), (name, message));
        }
    }
}
