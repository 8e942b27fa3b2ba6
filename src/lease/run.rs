//! The daemon's lease loop: renew the lease while leading, try to take it over while standing
//! by. Becoming the leader calls `on_led` (the daemon wakes a pass, which first resumes what
//! the old leader left in flight); losing it calls `on_lost` (the daemon stops every
//! verification at once, so a standby makes no ACM or Cognito call).

use std::sync::Arc;

use tokio::task::JoinHandle;
use tracing::Instrument;

use super::hold::{keep, try_lead};
use super::Lease;
use crate::metrics::Metrics;

/// Run the lease loop until aborted.
pub fn spawn(
    lease: Arc<Lease>,
    metrics: Metrics,
    on_led: impl Fn() + Send + 'static,
    on_lost: impl Fn() + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(
        async move {
            let mut was_leading = false;
            loop {
                if was_leading {
                    // keep() also reports a lease whose trust ran out between two renewals.
                    let still = keep(&lease, &metrics).await;
                    if !still {
                        on_lost();
                        was_leading = false;
                    }
                } else if try_lead(&lease, &metrics).await.is_some() {
                    was_leading = true;
                    on_led();
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
