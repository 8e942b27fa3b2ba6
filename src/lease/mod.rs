//! Leadership, in one place (with DynamoDB state): the lease rules here, taking and keeping
//! it in [`hold`], the daemon's renew-or-take-over loop in [`run`]; the table itself is the
//! adapter [`crate::aws::lease_table`].
//!
//! One replica acts at a time. The lease item names its
//! holder, host, expiry and epoch; the holder renews it every quarter of its duration, and a
//! replica takes it over only once it has expired, with the epoch incremented.
//!
//! The holder trusts its lease only until `sent + duration × 3/4`, measured from when the
//! acquiring or renewing request was *sent* (on tokio's monotonic clock): a leader that cannot
//! renew (partition, long pause) stops acting before any other replica can see the lease as
//! expired. Every state write a holder makes is fenced on its epoch ([`FenceSlot`]), so one
//! that wakes up late can write nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::aws::dynamodb::StateTable;
use crate::aws::lease_table::{Fence, LeaseCondition, LeaseItem, LeaseTable};
use crate::aws::AwsError;
use crate::clock::SharedClock;

pub mod guard;
pub mod hold;
pub mod run;

/// The fence this process may write under, while it is valid.
#[derive(Debug, Default)]
pub struct FenceSlot {
    held: Mutex<Option<(Fence, Instant)>>,
}

impl FenceSlot {
    /// The fence, while the lease is trusted.
    pub fn current(&self) -> Option<Fence> {
        let held = self.held.lock().ok()?;
        held.as_ref()
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(f, _)| f.clone())
    }

    /// How long the fence stays valid.
    pub fn remaining(&self) -> Duration {
        self.held
            .lock()
            .ok()
            .and_then(|h| {
                h.as_ref()
                    .map(|(_, until)| until.saturating_duration_since(Instant::now()))
            })
            .unwrap_or_default()
    }

    pub(crate) fn set(&self, fence: Fence, until: Instant) {
        if let Ok(mut held) = self.held.lock() {
            *held = Some((fence, until));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut held) = self.held.lock() {
            *held = None;
        }
    }
}

/// How an attempt to lead went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquire {
    /// This process leads now, at this epoch.
    Acquired {
        /// The epoch (the fencing token).
        epoch: u64,
        /// The expired lease it took over, if any.
        took_over: Option<LeaseItem>,
    },
    /// A live holder has it.
    Held(LeaseItem),
}

/// How a renewal went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// Still leading.
    Renewed,
    /// Someone else has the lease now (or it is gone).
    Lost(Option<LeaseItem>),
}

/// This process's side of the lease.
#[derive(Debug)]
pub struct Lease {
    table: LeaseTable,
    holder: String,
    host: String,
    duration: Duration,
    slot: Arc<FenceSlot>,
    clock: SharedClock,
}

impl Lease {
    /// A lease of `duration` on `table`, writing its fence into `slot`.
    pub fn new(
        table: StateTable,
        duration: Duration,
        slot: Arc<FenceSlot>,
        clock: SharedClock,
    ) -> Lease {
        let host = hostname();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Lease {
            holder: format!("{host}-{}-{nanos:08x}", std::process::id()),
            host,
            // A lease call may take at most a quarter lease: a renewal that cannot get
            // through is given up well before the lease runs out.
            table: table.leases(duration / 4),
            duration,
            slot,
            clock,
        }
    }

    /// How often the holder renews (and a standby tries to take over).
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// How often the holder renews.
    pub fn renew_every(&self) -> Duration {
        self.duration / 4
    }

    /// Whether this process leads (its lease is trusted right now).
    pub fn leading(&self) -> bool {
        self.slot.current().is_some()
    }

    /// How much longer this process trusts its lease (zero when it does not lead).
    pub fn trusted_for(&self) -> Duration {
        self.slot.remaining()
    }

    /// The guard to put in front of every ACM, Cognito and SQS client of an acting process.
    pub fn guard(&self) -> guard::LeaseGuard {
        guard::LeaseGuard::new(self.slot.clone())
    }

    /// The epoch this process leads at.
    pub fn epoch(&self) -> Option<u64> {
        self.slot.current().map(|f| f.epoch)
    }

    /// The lease item as stored.
    pub async fn current(&self) -> Result<Option<LeaseItem>, AwsError> {
        self.table.lease().await
    }

    fn item(&self, epoch: u64) -> LeaseItem {
        let expires =
            self.clock.now() + chrono::Duration::from_std(self.duration).unwrap_or_default();
        LeaseItem {
            holder: self.holder.clone(),
            host: self.host.clone(),
            expires_ms: expires.timestamp_millis(),
            epoch,
        }
    }

    fn trusted_until(&self, sent: Instant) -> Instant {
        sent + self.duration * 3 / 4
    }

    /// Take the lease if it is free, expired or already ours.
    pub async fn try_acquire(&self) -> Result<Acquire, AwsError> {
        for _ in 0..3 {
            let sent = Instant::now();
            let current = self.table.lease().await?;
            let now_ms = self.clock.now().timestamp_millis();
            let (epoch, condition, took_over) = match &current {
                None => (1, LeaseCondition::Absent, None),
                // Our own lease: kept at its epoch while still trusted; re-taken after the
                // trust ran out (a pause, a partition) at the next epoch, so work begun
                // before the gap can send nothing more (see `guard`).
                Some(h) if h.holder == self.holder => (
                    if self.epoch() == Some(h.epoch) {
                        h.epoch
                    } else {
                        h.epoch + 1
                    },
                    LeaseCondition::Is(Fence {
                        holder: h.holder.clone(),
                        epoch: h.epoch,
                    }),
                    None,
                ),
                Some(h) if h.expires_ms > now_ms => return Ok(Acquire::Held(h.clone())),
                // A takeover only while the lease is still expired: a holder that renewed it
                // between this read and the write keeps it.
                Some(h) => (
                    h.epoch + 1,
                    LeaseCondition::Expired {
                        fence: Fence {
                            holder: h.holder.clone(),
                            epoch: h.epoch,
                        },
                        now_ms,
                    },
                    Some(h.clone()),
                ),
            };
            if self.table.put_lease(&self.item(epoch), &condition).await? {
                let fence = Fence {
                    holder: self.holder.clone(),
                    epoch,
                };
                self.slot.set(fence, self.trusted_until(sent));
                return Ok(Acquire::Acquired { epoch, took_over });
            }
            // Someone else moved first: look again.
        }
        match self.table.lease().await? {
            Some(h) => Ok(Acquire::Held(h)),
            None => Err(AwsError::Malformed {
                operation: "PutItem",
                detail: "the lease kept changing while taking it".into(),
            }),
        }
    }

    /// Extend the lease this process holds.
    pub async fn renew(&self) -> Result<Renewal, AwsError> {
        let Some(fence) = self.slot.current() else {
            return Ok(Renewal::Lost(self.table.lease().await.ok().flatten()));
        };
        let sent = Instant::now();
        let condition = LeaseCondition::Is(fence.clone());
        if self
            .table
            .put_lease(&self.item(fence.epoch), &condition)
            .await?
        {
            self.slot.set(fence, self.trusted_until(sent));
            Ok(Renewal::Renewed)
        } else {
            self.slot.clear();
            Ok(Renewal::Lost(self.table.lease().await.ok().flatten()))
        }
    }

    /// Give the lease up (shutdown, end of `once`), so a standby need not wait it out.
    pub async fn release(&self) {
        if let Some(fence) = self.slot.current() {
            self.slot.clear();
            if let Err(e) = self.table.delete_lease(&fence).await {
                tracing::warn!("cannot release the lease (it expires by itself): {e}");
            }
        }
    }
}

/// The host name, for people reading who leads.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_string())
}
