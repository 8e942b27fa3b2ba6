//! What the rotator remembers between passes and across restarts: swaps in flight, how the
//! last ones ended, denylisted certificates, canary rollouts and failure backoff.
//!
//! The records are plain data ([`State`]); the rules that read them live in
//! [`crate::step`] and [`crate::rollout`]; [`file::StateStore`] keeps them crash-safe on disk.
//! Before a swap the intent is recorded; after it, the pending verification (with its
//! deadline); after verification, the outcome. A rollback records its intent (and the
//! denylist entry) before its write too, so a crash at any point is finished by the next start.

mod file;
mod records;

pub use file::{write_atomic, StateError, StateStore};
pub use records::{
    forget, Denied, DomainRecord, FinishedSwap, PendingSwap, Phase, RolloutRecord, State,
    SwapResult,
};
