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
    /// The state file exists but cannot be read: nothing was done.
    #[error("state file {path} cannot be read; nothing was done")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why (its `source()`).
        #[source]
        source: std::io::Error,
    },
    /// The state file does not parse: it is left byte for byte as it was, and nothing acts on
    /// a state it cannot trust.
    #[error(
        "state file {}:{line}:{column} cannot be used{}; it was left as it was and nothing was done. To recover: `cognito-cert-rotator state check -c CONFIG` lists the damaged records, `forget DOMAIN` drops a damaged domain record (with its denylist, hold and backoff), {}.bak holds the state before the last write, or move the file aside to start afresh",
        path.display(),
        damaged_records(records),
        path.display()
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where the parser stopped.
        line: usize,
        /// Where the parser stopped.
        column: usize,
        /// The records that do not parse (`domains."auth.example.com"`), when the file is
        /// JSON at all.
        records: Vec<String>,
        /// The parser's error (its `source()`).
        #[source]
        source: serde_json::Error,
    },
    /// A newer version wrote the state file: it is left as it was.
    #[error("state file {} is format {found}, newer than this version reads ({supported}): it was left as it was and nothing was done; run the newer version again, or restore {}.bak if it is older", path.display(), path.display())]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: u32,
        /// The newest this version reads.
        supported: u32,
    },
    /// Another process acts on the same state file.
    #[error("another process ({}) holds the state; not acting (state file {})", holder.as_deref().unwrap_or("pid unknown"), path.display())]
    Held {
        /// The state file.
        path: PathBuf,
        /// `pid N`, as the holder wrote it.
        holder: Option<String>,
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
    /// One change touched more records than a DynamoDB transaction takes (a bug: such changes
    /// are made in batches); nothing was written.
    #[error("DynamoDB state table: one change touched {0} records, more than a transaction takes (99 with the lease fence); nothing was written")]
    TooManyRecords(usize),
    /// Other writers kept changing the same records.
    #[error("DynamoDB state table: still conflicting with other writers after {0} attempts")]
    Contended(u32),
}

impl StateError {
    /// The state exists and cannot be trusted (unreadable, damaged, newer): a command stops
    /// with exit 2, as for a bad configuration, and the systemd unit does not restart on it.
    pub fn is_unusable(&self) -> bool {
        matches!(
            self,
            StateError::Unreadable { .. }
                | StateError::Damaged { .. }
                | StateError::NewerFormat { .. }
                | StateError::Corrupt { .. }
        )
    }
}

fn damaged_records(records: &[String]) -> String {
    if records.is_empty() {
        String::new()
    } else {
        format!(" (damaged: {})", records.join(", "))
    }
}
