//! Holding the lease while acting, for `once` and the daemon. With the file backend there is
//! no lease: one host, always the leader.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::aws::lease_table::LeaseItem;
use crate::aws::AwsError;
use crate::format::rfc3339;
use crate::lease::{Acquire, Lease, Renewal};
use crate::metrics::Metrics;

/// Who leads, for `status` and a standby's report: `HOLDER on HOST (epoch N) until T`, or
/// why nobody does.
pub fn who_leads(read: &Result<Option<LeaseItem>, AwsError>, now_ms: i64) -> String {
    match read {
        Ok(Some(item)) if item.expires_ms > now_ms => {
            format!("{} until {}", holder(item), until(item))
        }
        Ok(Some(item)) => format!(
            "none (the last lease, {}, ran out at {})",
            holder(item),
            until(item)
        ),
        Ok(None) => "none".to_string(),
        Err(e) => format!("unknown (cannot read the lease: {e})"),
    }
}

/// The lease could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// A live holder has it.
    #[error("not acting: the lease is held by {} until {} (another replica or task is acting); wait for it with --lease-wait DURATION", holder(.0), until(.0))]
    Held(LeaseItem),
    /// The table could not be read or written.
    #[error("cannot take the lease")]
    Aws(#[from] AwsError),
}

/// `HOLDER on HOST (epoch N)`.
pub fn holder(item: &LeaseItem) -> String {
    format!("{} on {} (epoch {})", item.holder, item.host, item.epoch)
}

/// The lease's expiry, for people.
pub fn until(item: &LeaseItem) -> String {
    chrono::DateTime::from_timestamp_millis(item.expires_ms)
        .map_or_else(|| item.expires_ms.to_string(), |t| rfc3339(&t))
}

/// The lease, held and renewed in the background until released.
#[derive(Debug)]
pub struct Holding {
    lease: Arc<Lease>,
    renewer: JoinHandle<()>,
}

impl Holding {
    /// Stop renewing and give the lease up.
    pub async fn release(self) {
        self.renewer.abort();
        self.lease.release().await;
    }
}

/// Take the lease for a run of `once`, waiting up to `wait` for a live holder to let go.
pub async fn take(
    lease: Arc<Lease>,
    wait: Duration,
    metrics: &Metrics,
) -> Result<Holding, LeaderError> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        match lease.try_acquire().await? {
            Acquire::Acquired { epoch, took_over } => {
                announce(epoch, took_over.as_ref());
                metrics.leader.set(1);
                let renewer = tokio::spawn(renew_until_lost(lease.clone(), metrics.clone()));
                return Ok(Holding { lease, renewer });
            }
            Acquire::Held(item) => {
                if tokio::time::Instant::now() >= until {
                    return Err(LeaderError::Held(item));
                }
                info!(
                    "the lease is held by {} until {}; waiting (--lease-wait)",
                    holder(&item),
                    self::until(&item)
                );
                tokio::time::sleep(lease.renew_every().min(until - tokio::time::Instant::now()))
                    .await;
            }
        }
    }
}

fn announce(epoch: u64, took_over: Option<&LeaseItem>) {
    match took_over {
        Some(old) => info!(
            epoch,
            "became the leader, taking over from {} whose lease ran out at {}",
            holder(old),
            until(old)
        ),
        None => info!(epoch, "became the leader"),
    }
}

/// Renew every quarter lease until the lease is lost.
async fn renew_until_lost(lease: Arc<Lease>, metrics: Metrics) {
    loop {
        tokio::time::sleep(lease.renew_every()).await;
        if !keep(&lease, &metrics).await {
            return;
        }
    }
}

/// One renewal; `false` once the lease is lost (logged and counted).
pub async fn keep(lease: &Lease, metrics: &Metrics) -> bool {
    // Never wait past the lease's trust for an answer.
    let renewed = tokio::time::timeout(lease.trusted_for(), lease.renew()).await;
    let renewed = renewed.unwrap_or_else(|_| {
        Err(AwsError::Transport {
            operation: "PutItem",
            detail: "no answer before the lease ran out".into(),
        })
    });
    let lost = match renewed {
        Ok(Renewal::Renewed) => return true,
        Ok(Renewal::Lost(by)) => by.map_or_else(
            || "the lease item is gone".to_string(),
            |item| format!("now held by {}", holder(&item)),
        ),
        Err(e) => {
            if lease.leading() {
                warn!("cannot renew the lease yet (still trusted): {e}");
                return true;
            }
            format!("cannot renew it in time: {e}")
        }
    };
    error!("lost the lease ({lost}): stopped acting; state writes are fenced off");
    metrics.leader.set(0);
    metrics.lease_lost.inc();
    false
}

/// Whether a host whose clock is `skew_seconds` off AWS's may lead with a lease of `lease`:
/// not when the skew, less the `Date` header's one-second resolution, exceeds a quarter of
/// the lease (other replicas would see its lease expire at another time than it does).
pub fn skew_allows_leading(skew_seconds: f64, lease: Duration) -> bool {
    (skew_seconds.abs() - 1.0) <= lease.as_secs_f64() / 4.0
}

/// One attempt to lead, for a standby; the epoch when it now leads.
pub async fn try_lead(lease: &Lease, metrics: &Metrics) -> Option<u64> {
    let skew = metrics.clock_skew.get();
    if !skew_allows_leading(skew, lease.duration()) {
        metrics.leader.set(0);
        warn!(
            skew_seconds = skew,
            "refusing to lead: this host's clock is {skew:.1} s off AWS's, more than a quarter of the {} s lease; fix its time sync (chrony, NTP)",
            lease.duration().as_secs()
        );
        return None;
    }
    match lease.try_acquire().await {
        Ok(Acquire::Acquired { epoch, took_over }) => {
            announce(epoch, took_over.as_ref());
            metrics.leader.set(1);
            Some(epoch)
        }
        Ok(Acquire::Held(item)) => {
            metrics.leader.set(0);
            tracing::debug!("standby: {} leads until {}", holder(&item), until(&item));
            None
        }
        Err(e) => {
            metrics.leader.set(0);
            warn!("standby: cannot read the lease: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_refuses_to_lead_past_a_quarter_of_the_lease_of_clock_skew() {
        let lease = Duration::from_secs(30);
        // 7.5 s is a quarter; the Date header's second of resolution is allowed on top.
        assert!(skew_allows_leading(0.0, lease));
        assert!(skew_allows_leading(-8.4, lease));
        assert!(skew_allows_leading(8.4, lease));
        assert!(!skew_allows_leading(8.6, lease));
        assert!(!skew_allows_leading(-30.0, lease));
        // A short lease tolerates little.
        assert!(!skew_allows_leading(2.0, Duration::from_secs(2)));
    }
}
