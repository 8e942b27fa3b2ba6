//! What the rotator remembers between passes and across restarts: swaps in flight, how the
//! last ones ended, denylisted certificates, canary rollouts and failure backoff.
//!
//! The records are plain data ([`State`]); the rules that read them live in
//! [`crate::step`] and [`crate::rollout`]; [`StateStore`] keeps them: a crash-safe file ([`FileStore`], the default for one host) or a
//! DynamoDB table ([`DynamoStore`], shared by replicas, with leadership in [`crate::lease`]).
//! Before a swap the intent is recorded; after it, the pending verification (with its
//! deadline); after verification, the outcome. A rollback records its intent (and the
//! denylist entry) before its write too, so a crash at any point is finished by the next start.

mod dynamodb;
pub mod error;
mod file;

pub mod records;

pub use dynamodb::DynamoStore;
pub use error::StateError;
pub use file::{write_atomic, FileStore};
pub use records::{
    enqueue, forget, Announcement, Denied, DomainRecord, ExternalChange, FinishedSwap, PendingSwap,
    Phase, RolloutRecord, SeenCertificate, State, SwapResult,
};

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
