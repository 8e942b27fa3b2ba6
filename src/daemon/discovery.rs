//! `discovery:` in the daemon: on the leader, at start (and when it becomes the leader) and
//! every `interval`, look for the tagged user pools. A change in what is managed reloads the
//! daemon's context with the new targets; a pool that lost its tag stops being managed (a swap
//! of it in flight is still verified by its running task).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{info, Instrument};

use super::event_loop::Control;
use crate::config::{Config, Target};
use crate::lease::Lease;
use crate::metrics::Metrics;

/// How often a replica that does not lead looks whether it leads now.
const STANDBY_CHECK: Duration = Duration::from_secs(5);

/// The targets discovery manages now, shared with the reload that applies them.
pub(super) type Discovered = Arc<Mutex<Vec<Target>>>;

/// Run the discovery loop until aborted. `config` is the configuration as read from the
/// file (updated on reload); `reload` asks the event loop to apply a change.
pub(super) fn spawn(
    config: watch::Receiver<Arc<Config>>,
    lease: Option<Arc<Lease>>,
    metrics: Metrics,
    discovered: Discovered,
    reload: mpsc::Sender<Control>,
) -> Option<tokio::task::JoinHandle<()>> {
    let interval = config.borrow().discovery.as_ref()?.interval;
    Some(tokio::spawn(
        async move {
            let sdk = crate::aws::load_sdk_config().await;
            let mut looked_at: Option<(Option<u64>, tokio::time::Instant)> = None;
            loop {
                let epoch = lease.as_ref().map(|l| l.epoch());
                let leading = epoch.is_none_or(|e| e.is_some());
                let due = match looked_at {
                    None => true,
                    // A new leader looks at once; the same one every interval.
                    Some((at_epoch, at)) => at_epoch != epoch.flatten() || at.elapsed() >= interval,
                };
                if leading && due {
                    let current = config.borrow().clone();
                    let look = crate::lease::guard::carry_epoch(
                        epoch.flatten(),
                        crate::discovery::scan::tagged(&current, &sdk, &metrics),
                    )
                    .await;
                    metrics.set_unmanaged(look.unmanaged_series());
                    let unmanaged = look.unmanaged_lines();
                    if !unmanaged.is_empty() {
                        info!(
                            domains = %unmanaged.join(", "),
                            "discovery: {} custom domain(s) or consumer(s) found that are neither listed nor tagged",
                            unmanaged.len()
                        );
                    }
                    if apply(&discovered, look.targets) && reload.send(Control::Reload).await.is_err() {
                        return;
                    }
                    looked_at = Some((epoch.flatten(), tokio::time::Instant::now()));
                }
                tokio::time::sleep(STANDBY_CHECK.min(interval)).await;
            }
        }
        .instrument(tracing::info_span!("discovery")),
    ))
}

/// Keep `found` as what discovery manages; `true` when it changed (logged, target by target).
fn apply(discovered: &Discovered, found: Vec<Target>) -> bool {
    let Ok(mut known) = discovered.lock() else {
        return false;
    };
    let before: BTreeSet<&str> = known.iter().map(|t| t.domain.as_str()).collect();
    let after: BTreeSet<&str> = found.iter().map(|t| t.domain.as_str()).collect();
    for t in found.iter().filter(|t| !before.contains(t.domain.as_str())) {
        info!(domain = %t.domain, consumer = %t.consumer_id(), "discovery: managing {} ({})", t.domain, t.discovered.as_deref().unwrap_or("tagged"));
    }
    for t in known.iter().filter(|t| !after.contains(t.domain.as_str())) {
        info!(domain = %t.domain, "discovery: {} is no longer tagged (or gone): it is no longer managed; a swap of it in flight is still verified", t.domain);
    }
    if *known == found {
        return false;
    }
    *known = found;
    true
}
