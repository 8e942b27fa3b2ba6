//! The fence in front of every ACM, Cognito and SQS request of an acting process.
//!
//! Cognito has no conditional write, so a replica that was paused (SIGSTOP, a stalled VM, a
//! long GC) past its lease could wake and send `UpdateUserPoolDomain` after another replica
//! took over. [`LeaseGuard`] sits in the SDK's request pipeline and runs immediately before
//! each attempt is transmitted (after signing, retries included): it lets the request go only
//! while this process trusts its lease by the monotonic clock **and** the lease's epoch is
//! the one the work started under ([`under`]). A pass begun under epoch 7 sends nothing once
//! the process leads at epoch 9, even though it leads again.
//!
//! What remains (documented in docs/high-availability.md): the few microseconds between the
//! check and the bytes leaving the socket. A process stopped in exactly that gap sends one
//! request when it wakes.

use std::future::Future;
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::FenceSlot;
pub use crate::aws::error::NotLeading;
use crate::metrics::NotSent;

tokio::task_local! {
    /// The lease epoch the current task's work started under.
    static EPOCH: u64;
}

/// Run `work` as work of lease epoch `epoch`: its AWS requests go out only while this process
/// still leads at that epoch.
pub fn under<F: Future>(epoch: u64, work: F) -> impl Future<Output = F::Output> {
    EPOCH.scope(epoch, work)
}

/// `work`, to be spawned, as work of the epoch the current task runs under (if any).
pub fn carry<F: Future>(work: F) -> impl Future<Output = F::Output> {
    carry_epoch(started_under(), work)
}

/// `work` as work of `epoch`, when there is one (no lease: nothing to check).
pub async fn carry_epoch<F: Future>(epoch: Option<u64>, work: F) -> F::Output {
    match epoch {
        Some(epoch) => under(epoch, work).await,
        None => work.await,
    }
}

/// Run `work` to its end even if the caller is dropped: a lost lease aborts verifications and
/// cuts passes short, and a state write must never be separated from the hooks and
/// notifications that announce it (the write would land and nobody would announce it). It
/// stays work of the current epoch (and span), so the fence still decides whether it writes.
/// `None` when the runtime is shutting down.
pub async fn to_the_end<F>(work: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    use tracing::Instrument;
    // In the caller's span, so its log lines still name the domain.
    tokio::spawn(carry(work).instrument(tracing::Span::current()))
        .await
        .ok()
}

/// The epoch the current task's work started under, if any.
pub fn started_under() -> Option<u64> {
    EPOCH.try_with(|e| *e).ok()
}

/// Whether a request may go: `leading` is the epoch whose lease this process trusts right
/// now, `started` the epoch the work began under.
pub fn admits(leading: Option<u64>, started: Option<u64>) -> Result<(), NotLeading> {
    match (leading, started) {
        (None, _) => Err(NotLeading::NoLease),
        (Some(_), None) => Err(NotLeading::NoEpoch),
        (Some(now), Some(started)) if now != started => {
            Err(NotLeading::EpochMoved { started, now })
        }
        (Some(_), Some(_)) => Ok(()),
    }
}

/// The SDK interceptor that checks the lease before each request is sent.
#[derive(Debug, Clone)]
pub struct LeaseGuard {
    slot: Arc<FenceSlot>,
}

impl LeaseGuard {
    /// A guard reading the fence this process holds.
    pub fn new(slot: Arc<FenceSlot>) -> LeaseGuard {
        LeaseGuard { slot }
    }

    /// Whether a request of the current task may go now.
    pub fn check(&self) -> Result<(), NotLeading> {
        admits(self.slot.current().map(|f| f.epoch), started_under())
    }
}

impl Intercept for LeaseGuard {
    fn name(&self) -> &'static str {
        "LeaseGuard"
    }

    // The last hook before the request is handed to the HTTP client: the check is as close
    // to the send as the SDK allows.
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.check().map_err(|refused| {
            cfg.interceptor_state().store_put(NotSent);
            tracing::debug!("{refused}");
            BoxError::from(refused)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_goes_only_while_leading_at_the_epoch_its_work_began_under() {
        assert_eq!(admits(Some(7), Some(7)), Ok(()));
        assert_eq!(admits(None, Some(7)), Err(NotLeading::NoLease));
        assert_eq!(admits(None, None), Err(NotLeading::NoLease));
        // Woken from a pause, leading again at a later epoch: the old work sends nothing.
        assert_eq!(
            admits(Some(9), Some(7)),
            Err(NotLeading::EpochMoved { started: 7, now: 9 })
        );
        assert_eq!(admits(Some(9), None), Err(NotLeading::NoEpoch));
    }

    #[tokio::test]
    async fn the_epoch_follows_the_work_it_was_given_to() {
        assert_eq!(started_under(), None);
        let inner = under(3, async { started_under() }).await;
        assert_eq!(inner, Some(3));
        assert_eq!(started_under(), None);
    }

    #[tokio::test]
    async fn spawned_work_keeps_the_epoch_of_the_work_that_spawned_it() {
        let spawned = under(5, async {
            tokio::spawn(carry(async { started_under() }))
                .await
                .unwrap()
        })
        .await;
        assert_eq!(spawned, Some(5));
        // A plain spawn would have lost it (and the guard would refuse its requests).
        let plain = under(5, async {
            tokio::spawn(async { started_under() }).await.unwrap()
        })
        .await;
        assert_eq!(plain, None);
    }

    #[tokio::test]
    async fn work_run_to_the_end_finishes_though_its_caller_is_dropped() {
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let (go, go_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let caller = tokio::spawn(under(4, async move {
            to_the_end(async move {
                let _ = started_tx.send(());
                let _ = go_rx.await;
                // The write and its announcement: still under the caller's epoch.
                let _ = done_tx.send(started_under());
            })
            .await
        }));
        started.await.unwrap();
        // The caller is aborted (a lost lease) while the work is in flight.
        caller.abort();
        assert!(caller.await.is_err());
        go.send(()).unwrap();
        assert_eq!(done.await.unwrap(), Some(4));
    }
}
