//! Sheets failures, classified for retry and mapped to pipeline error names. Messages carry
//! Google's status and message (about ranges and quotas, never cell contents) and no tokens.

use ordersync_core::errors::{Classify, ErrorName};

#[derive(Debug, thiserror::Error)]
pub enum SheetsError {
    #[error(
        "Google refused the service account ({status}): {message}. Share the spreadsheet with the service account's e-mail as an editor"
    )]
    Auth { status: String, message: String },
    #[error("the Sheets write quota was still exhausted when the time budget ran out: {message}")]
    RateLimited { message: String },
    #[error("Google Sheets failed transiently and retries ran out of time: {message}")]
    Upstream { message: String },
    #[error(
        "spreadsheet `{spreadsheet}` was not found (check sheet.spreadsheet_id and that it is shared with the service account)"
    )]
    NotFound { spreadsheet: String },
    #[error("Google Sheets rejected the request ({status}): {message}")]
    Rejected { status: String, message: String },
    #[error("the sheet cannot take this write: {0}")]
    Sheet(String),
    #[error("Google Sheets client configuration: {0}")]
    Config(String),
    /// The write guard refused an attempt (the lease was lost, or could not be renewed); the
    /// guard's own name and message pass through unchanged.
    #[error("{}", .0.message)]
    Guard(ordersync_core::StepError),
}

impl Classify for SheetsError {
    fn error_name(&self) -> ErrorName {
        match self {
            SheetsError::Auth { .. } => ErrorName::Auth,
            SheetsError::RateLimited { .. } => ErrorName::RateLimited,
            SheetsError::Upstream { .. } => ErrorName::Upstream,
            SheetsError::NotFound { .. } => ErrorName::InvalidInput,
            SheetsError::Rejected { .. } | SheetsError::Sheet(_) => ErrorName::Sheet,
            SheetsError::Config(_) => ErrorName::Config,
            SheetsError::Guard(e) => e.name,
        }
    }
}
