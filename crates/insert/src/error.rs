//! The insert stage's failures, each classified into its Step Functions name.
//!
//! The handler works in [`InsertError`]; [`crate::handle`] turns it into a
//! [`StepError`](ordersync_core::StepError) once, at the boundary, through the [`Classify`] impl
//! below (core's `From<E: Classify>`). Library errors pass through unchanged (`transparent`), so
//! their messages and names are the ones those libraries chose.

use ordersync_core::cursor::CursorError;
use ordersync_core::errors::{Classify, ErrorName};
use ordersync_core::keys::BadExecutionName;
use ordersync_core::lease::LeaseError;
use ordersync_core::payload::PayloadError;
use ordersync_core::store::ReadError;
use ordersync_sheets::SheetsError;

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// The event's execution name cannot be used in keys.
    #[error(transparent)]
    Execution(#[from] BadExecutionName),
    /// The event's sheet target breaks a rule (every problem, joined).
    #[error("{}", .0.join("; "))]
    Target(Vec<String>),
    /// A rows reference is not in our store, or a rows object does not decode.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// A rows object could not be read or verified.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The windows' rows objects do not agree on their columns.
    #[error("payload object {uri} has other columns than the first rows object")]
    ColumnsDiffer { uri: String },
    #[error("rows objects have no key column")]
    NoKeyColumn,
    #[error("a row has a different number of cells than columns")]
    CellCount,
    /// Taking the lease failed (another holder: `Busy`).
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The write guard was asked to write after its lease was gone: a bug in the handler.
    #[error("write attempted without a lease")]
    NoLease,
    /// The upsert failed (the guard's own refusals pass through with their names).
    #[error(transparent)]
    Sheets(#[from] SheetsError),
    /// The lease could not be renewed for the cursor commit (lost: `Busy`).
    #[error("{}", .0.message)]
    Guard(ordersync_core::StepError),
    /// A sync's cursor could not be read or moved.
    #[error(transparent)]
    Cursor(#[from] CursorError),
    /// The cursor changed between the check under the lease and the commit: only a writer
    /// that ignores the lease can do that.
    #[error("the sync cursor {key} was moved by a writer that does not hold the sheet's lease")]
    CursorRace { key: String },
}

impl Classify for InsertError {
    fn error_name(&self) -> ErrorName {
        match self {
            InsertError::Execution(e) => e.error_name(),
            InsertError::Target(_) => ErrorName::InvalidInput,
            InsertError::Payload(e) => e.error_name(),
            InsertError::Read(e) => e.error_name(),
            InsertError::ColumnsDiffer { .. }
            | InsertError::NoKeyColumn
            | InsertError::CellCount => ErrorName::Payload,
            InsertError::Lease(e) => e.error_name(),
            InsertError::NoLease => ErrorName::Internal,
            InsertError::Sheets(e) => e.error_name(),
            InsertError::Guard(e) => e.name,
            InsertError::Cursor(e) => e.error_name(),
            InsertError::CursorRace { .. } => ErrorName::Internal,
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
                InsertError::Target(vec!["sheet.tab is empty".into(), "x".into()]),
                ErrorName::InvalidInput,
                "sheet.tab is empty; x",
            ),
            (
                InsertError::ColumnsDiffer { uri: "u".into() },
                ErrorName::Payload,
                "payload object u has other columns than the first rows object",
            ),
            (
                InsertError::NoLease,
                ErrorName::Internal,
                "write attempted without a lease",
            ),
            (
                InsertError::Sheets(SheetsError::Guard(StepError::new(
                    ErrorName::Busy,
                    "lease lost",
                ))),
                ErrorName::Busy,
                "lease lost",
            ),
            (
                InsertError::Sheets(SheetsError::RateLimited {
                    message: "m".into(),
                }),
                ErrorName::RateLimited,
                "the Sheets write quota was still exhausted when the time budget ran out: m",
            ),
        ];
        for (error, name, message) in cases {
            let step = StepError::from(error);
            assert_eq!((step.name, step.message.as_str()), (name, message));
        }
    }
}
