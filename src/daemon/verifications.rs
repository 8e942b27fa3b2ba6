//! The verifications running in the background: at most one per domain, whatever the lease
//! churn or the passes resuming work, and all stopped on shutdown or when the lease is lost.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::AbortHandle;
use tracing::{debug, error, info, Instrument};

use crate::context::Context;
use crate::outcome::Verification;
use crate::verify::VerifyJob;

/// Running verifications by domain.
#[derive(Debug, Clone, Default)]
pub(super) struct Verifications(Arc<Mutex<HashMap<String, AbortHandle>>>);

impl Verifications {
    /// Verify and record `job` in the background, unless its domain is being verified already.
    pub(super) fn spawn(&self, ctx: &Context, job: VerifyJob) {
        let ctx = ctx.clone();
        let span = crate::reconcile::verification::verify_span(&job);
        let domain = job.target.domain.clone();
        let task = async move {
            match crate::reconcile::verification::verify_and_record(&ctx, &job).await {
                Verification::Verified(detail) => info!("{detail}"),
                other => error!("{}", other.summary()),
            }
        }
        .instrument(span);
        // Work of the epoch it was started under: the lease guard stops its requests once
        // this replica no longer leads at that epoch.
        if !self.start(&domain, crate::lease::guard::carry(task)) {
            debug!(%domain, "a verification of this domain is already running");
        }
    }

    /// Whether a verification of `domain` is running.
    pub(super) fn running(&self, domain: &str) -> bool {
        self.0
            .lock()
            .map_or(true, |r| r.get(domain).is_some_and(|h| !h.is_finished()))
    }

    /// Run `task` for `domain` unless one for that domain is still running; `false` then.
    fn start(&self, domain: &str, task: impl Future<Output = ()> + Send + 'static) -> bool {
        let Ok(mut running) = self.0.lock() else {
            return false;
        };
        running.retain(|_, h| !h.is_finished());
        if running.contains_key(domain) {
            return false;
        }
        let handle = tokio::spawn(task);
        running.insert(domain.to_string(), handle.abort_handle());
        true
    }

    /// Stop them all (shutdown, or the lease lost): the state keeps them for whoever acts next.
    pub(super) fn abort_all(&self) {
        if let Ok(mut running) = self.0.lock() {
            for (_, h) in running.drain() {
                h.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_verification_per_domain_however_often_it_is_asked_for() {
        let v = Verifications::default();
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        assert!(v.start("a.example.com", async {
            let _ = wait.await;
        }));
        // A resumed or repeated job for the same domain is not started twice.
        assert!(v.running("a.example.com"));
        assert!(!v.start("a.example.com", async {}));
        // Another domain runs beside it.
        assert!(v.start("b.example.com", async {}));
        release.send(()).unwrap();
        // Once the first has finished, the domain may be verified again.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(!v.running("a.example.com"));
        assert!(v.start("a.example.com", async {}));
    }

    #[tokio::test]
    async fn abort_all_stops_every_verification() {
        let v = Verifications::default();
        assert!(v.start("a.example.com", std::future::pending()));
        v.abort_all();
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(v.start("a.example.com", async {}));
    }
}
