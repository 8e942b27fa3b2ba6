//! The outbox: every outcome of a swap (rotated, verified, failed, rolled back) is announced
//! — its hook run, its notification sent — by whoever leads, even when the replica that
//! recorded it is killed, stopped or cut off right after the record.
//!
//! An outcome's [`Announcement`] goes into the domain's record **in the same state write as
//! the outcome**, so one is never recorded without the other. Then:
//!
//! 1. the replica that wrote it announces it at once ([`announce`]): it starts the hook's
//!    process, then, in one state write, takes the announcement out of the outbox and claims
//!    its notification (the key in the domain's `notified`), and only then queues the
//!    notification;
//! 2. every acting pass first announces whatever is still in any outbox ([`drain`]): the
//!    outcomes of a replica that stopped between its record and step 1's write, or whose
//!    write failed.
//!
//! Both steps run only while this process trusts its lease at the epoch of the work (checked
//! just before the hooks start), and a process runs the hooks of one outcome once (the
//! recording path and the drain may both get there). What remains, documented in
//! docs/high-availability.md: a replica killed or stopped between starting a hook and its
//! write in step 1 has its outcome announced again by the next leader, with the same
//! `CCR_EVENT_ID` (at least once, never lost); a notification is sent at most once per claim.

use chrono::{DateTime, Utc};
use tracing::{debug, warn};

use crate::context::Context;
use crate::error::Chain;
use crate::hooks::{Event, HookEvent};
use crate::model::NoticeKind;
use crate::notices::Notice;
use crate::state::{Announcement, State, StateError};
use crate::verify::VerifyJob;

/// The hook that announces `a` on `domain`.
pub fn hook_of(domain: &str, a: &Announcement) -> HookEvent {
    let event = match a.kind {
        NoticeKind::Rotated => Event::Swap,
        NoticeKind::Verified => Event::Verified,
        _ => Event::Failure,
    };
    HookEvent {
        event,
        domain: domain.to_string(),
        consumer: a.consumer.clone(),
        consumer_kind: a.consumer_kind,
        old_arn: a.old_arn.clone(),
        new_arn: Some(a.new_arn.clone()),
        reason: a.reason.clone(),
        id: Some(format!("{domain}:{}", a.key())),
        renewal: a.renewal,
    }
}

/// The announcement of `job`'s outcome `kind`, for `reason`, at `at`.
pub fn of_job(
    kind: NoticeKind,
    job: &VerifyJob,
    reason: String,
    at: DateTime<Utc>,
) -> Announcement {
    Announcement {
        kind,
        consumer: job.target.consumer_id().to_string(),
        consumer_kind: job.target.kind(),
        account: crate::aws::accounts::label(&job.target.role),
        old_arn: job.old_arn.clone(),
        new_arn: job.new_arn.clone(),
        reason,
        renewal: job.renewal,
        deadline: job.deadline,
        expiry: job.expiry,
        at,
    }
}

/// Announce every outcome still in an outbox of `state` (read by the pass that calls this).
pub async fn drain(ctx: &Context, state: &State) {
    for (domain, record) in &state.domains {
        if !record.outbox.is_empty() {
            debug!(domain = %domain, outcomes = record.outbox.len(), "announcing outcomes recorded but not announced yet");
            announce(ctx, domain, &record.outbox).await;
        }
    }
}

/// Announce `outbox`, recorded for `domain`: start each one's hook (once per process), then
/// take them out of the outbox and claim their notifications in one write, then queue the
/// notifications this write claimed. Nothing is fired while this process does not lead; a
/// failed write leaves them for the next pass.
pub async fn announce(ctx: &Context, domain: &str, outbox: &[Announcement]) {
    if outbox.is_empty() {
        return;
    }
    if let Some(guard) = &ctx.guard {
        if let Err(refused) = guard.check() {
            debug!("not announcing: {refused}; the leader announces it");
            return;
        }
    }
    for a in outbox {
        ctx.hooks.fire_once(hook_of(domain, a)).await;
    }
    let wanted: Vec<&Announcement> = outbox
        .iter()
        .filter(|a| ctx.notices.wants(a.kind))
        .collect();
    let written =
        crate::record::drained(&ctx.state, domain, outbox, &wanted, ctx.clock.now()).await;
    match written {
        Ok(claimed) => {
            for a in claimed {
                ctx.notices.send_claimed(Notice::announcing(domain, a));
            }
        }
        Err(StateError::NotLeader) => {
            debug!("announced, but no longer leading: the leader announces it again")
        }
        Err(e) => warn!(
            "announced, but cannot take it out of the outbox (the next pass does): {}",
            Chain(&e)
        ),
    }
}

#[cfg(test)]
mod tests;
