//! What the rotator remembers between passes and across restarts: swaps in flight, how the
//! last ones ended, denylisted certificates, canary rollouts and failure backoff.
//!
//! The records are plain data ([`State`]); the rules that read them live in
//! [`crate::step`] and [`crate::rollout`]; [`StateStore`] keeps them: a crash-safe file ([`FileStore`], the default for one host) or a
//! DynamoDB table ([`DynamoStore`], shared by replicas, with leadership in [`crate::lease`]).
//! Before a swap the intent is recorded; after it, the pending verification (with its
//! deadline); after verification, the outcome. A rollback records its intent (and the
//! denylist entry) before its write too, so a crash at any point is finished by the next start.

mod claim;
pub mod decode;
mod dynamodb;
pub mod error;
mod file;

pub mod records;

pub use claim::Claim;
pub use dynamodb::DynamoStore;
pub use error::StateError;
pub use file::{write_atomic, FileStore};
pub use records::{
    enqueue, forget, Announcement, Denied, DomainRecord, ExternalChange, FinishedSwap, PendingSwap,
    Phase, RolloutRecord, SeenCertificate, State, SwapResult, FORMAT,
};

/// Records changed by one write of [`StateStore::update_in_batches`]: half of DynamoDB's
/// transaction limit (100 items, the lease fence is one more), leaving room for the rollout
/// record a change may touch beside them.
pub const BATCH: usize = 50;

/// Where the state lives.
#[derive(Debug)]
pub enum StateStore {
    /// A file on this host.
    File(FileStore),
    /// A DynamoDB table shared by every replica.
    Dynamo(DynamoStore),
}

impl StateStore {
    /// A copy of the current state.
    pub async fn snapshot(&self) -> Result<State, StateError> {
        match self {
            StateStore::File(f) => Ok(f.snapshot().await),
            StateStore::Dynamo(d) => d.snapshot().await,
        }
    }

    /// Change the state and persist it before returning; `change` may run more than once
    /// (a conflicting writer makes the DynamoDB store re-read and re-apply it).
    pub async fn update<F>(&self, change: F) -> Result<(), StateError>
    where
        F: FnMut(&mut State),
    {
        match self {
            StateStore::File(f) => f.update(change).await,
            StateStore::Dynamo(d) => d.update(change).await,
        }
    }

    /// Change the state record by record, [`BATCH`] items of `items` per write: a change
    /// that touches every target (the daemon's backoff counts, the certificates seen) stays
    /// within DynamoDB's 100 items per transaction, however large the fleet. Each batch is
    /// atomic; a failed one is reported and the rest still written.
    pub async fn update_in_batches<T, F>(
        &self,
        items: &[T],
        mut change: F,
    ) -> Result<(), StateError>
    where
        F: FnMut(&mut State, &[T]),
    {
        let mut failed = None;
        for batch in items.chunks(BATCH) {
            if let Err(e) = self.update(|s| change(s, batch)).await {
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// Where it is, for logs and messages.
    pub fn summary(&self) -> String {
        match self {
            StateStore::File(f) => format!("file {}", f.path().display()),
            StateStore::Dynamo(d) => format!(
                "DynamoDB table {} ({})",
                d.table().name(),
                d.table().region()
            ),
        }
    }
}
