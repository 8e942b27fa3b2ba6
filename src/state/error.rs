//! Why the state could not be read or written.

use std::path::PathBuf;

use crate::aws::error::{AwsError, TableError};

/// The state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// I/O on the state file.
    #[error("state file {path}")]
    Io {
        /// The file, as the configuration names it.
        path: PathBuf,
        /// The I/O error, shown after this message (its `source()`).
        #[source]
        source: std::io::Error,
    },
    /// The DynamoDB table is missing or not shaped as expected.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A DynamoDB call failed (after the SDK's retries).
    #[error("DynamoDB state table")]
    Aws(#[from] AwsError),
    /// A record in the table does not parse: it is left alone, not overwritten.
    #[error(
        "DynamoDB state table: record {key} does not parse ({why}); inspect or delete that item"
    )]
    Corrupt {
        /// Its sort key.
        key: String,
        /// The parse error.
        why: String,
    },
    /// This process does not hold the lease (any more): a leader elsewhere acts.
    #[error("not written: this process does not hold the lease (another replica leads now)")]
    NotLeader,
    /// Other writers kept changing the same records.
    #[error("DynamoDB state table: still conflicting with other writers after {0} attempts")]
    Contended(u32),
}
