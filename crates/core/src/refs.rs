//! A reference to a payload object: what travels through Step Functions instead of the data.
//!
//! A few hundred bytes however large the object is: where it is, what schema it holds, how many
//! records, how many bytes, and the SHA-256 of those bytes so a reader can prove it got exactly
//! what the writer wrote.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Points at one payload object in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    /// `s3://bucket/key` or `file:///dir/key`.
    pub uri: String,
    /// Schema name, e.g. `ordersync.orders`.
    pub schema: String,
    /// Schema version the writer used.
    pub version: u32,
    /// Number of records (lines after the header).
    pub records: u64,
    /// Size of the stored (compressed) object in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the stored bytes.
    pub sha256: String,
}
