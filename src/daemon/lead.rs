//! The daemon's side of leadership (DynamoDB state): renew the lease while leading, try to
//! take it over while standing by. Becoming the leader wakes a pass (which first resumes what
//! the old leader left in flight); losing it stops every verification at once, so a standby
//! makes no ACM or Cognito call.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use tracing::Instrument;

use crate::metrics::Metrics;
use crate::state::lease::Lease;

/// Run the lease loop until aborted.
pub(super) fn spawn(
    lease: Arc<Lease>,
    metrics: Metrics,
    wake: mpsc::Sender<super::event_loop::Tick>,
    on_lost: impl Fn() + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(
        async move {
            let mut was_leading = false;
            loop {
                if was_leading {
                    // keep() also reports a lease whose trust ran out between two renewals.
                    let still = crate::leader::keep(&lease, &metrics).await;
                    if !still {
                        on_lost();
                        was_leading = false;
                    }
                } else if crate::leader::try_lead(&lease, &metrics).await.is_some() {
                    was_leading = true;
                    let _ = wake.try_send(super::event_loop::Tick::Schedule);
                }
                // Wake when the lease would stop being trusted, if that comes first, so a leader
                // that cannot renew says so the moment it stops acting.
                let wake_in = if was_leading {
                    lease.renew_every().min(lease.trusted_for())
                } else {
                    lease.renew_every()
                };
                tokio::time::sleep(wake_in).await;
            }
        }
        .instrument(tracing::info_span!("lease")),
    )
}
