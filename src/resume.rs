//! Resuming after a crash or restart: settle what the state says is in flight, for the
//! configured targets, by re-reading each domain.
//!
//! - an intent whose swap happened becomes a verification with its original deadline; one
//!   whose swap did not is dropped and decided afresh;
//! - a recorded swap becomes a verification with its original deadline;
//! - a rollback intent is finished: written if the domain still points at the failed
//!   certificate, recorded if it already moved back. Its denylist entry was recorded first,
//!   so it survives any crash.
//!
//! A domain that cannot be read keeps its record for the next start. Domains no longer
//! configured are left untouched in the state.

use tracing::Instrument;
use tracing::{error, info, warn};

use crate::act;
use crate::config::Target;
use crate::context::Context;
use crate::error::Chain;
use crate::format::rfc3339;
use crate::model::{arn_tail, DomainView, NoticeKind};
use crate::outbox;
use crate::outcome::Verification;
use crate::serial::Serial;
use crate::state::{PendingSwap, Phase};
use crate::verify::VerifyJob;

/// Settle everything in flight; returns the swaps still to verify.
pub async fn resume(ctx: &Context) -> Vec<VerifyJob> {
    resume_where(ctx, |_| true).await
}

/// [`resume`] for the domains `wanted` says (the daemon: those no verification of this process
/// is working on).
pub async fn resume_where(ctx: &Context, wanted: impl Fn(&str) -> bool) -> Vec<VerifyJob> {
    let snapshot = match ctx.state.snapshot().await {
        Ok(s) => s,
        Err(e) => {
            // Left for the next start (or leader); nothing swaps on top of unknown state, since
            // every pass reads the state first.
            error!(
                "cannot read the state to resume what is in flight: {}",
                Chain(&e)
            );
            return Vec::new();
        }
    };
    let mut jobs = Vec::new();
    for target in ctx.config.targets.iter().filter(|t| wanted(&t.domain)) {
        let Some(pending) = snapshot
            .domains
            .get(&target.domain)
            .and_then(|r| r.pending.clone())
        else {
            continue;
        };
        let span = tracing::info_span!("resume", domain = %target.domain, consumer = %target.consumer_id());
        if let Some(job) = settle(ctx, target, pending).instrument(span).await {
            jobs.push(job);
        }
    }
    jobs
}

/// Settle one domain's swap in flight; the job when it still needs verifying.
async fn settle(ctx: &Context, target: &Target, pending: PendingSwap) -> Option<VerifyJob> {
    let job = job_of(target, &pending);
    match pending.phase {
        Phase::Swapped => {
            info!(to = %pending.new_arn, deadline = %rfc3339(&pending.deadline), "resuming the verification of an earlier swap");
            Some(job)
        }
        Phase::Intent => settle_intent(ctx, target, &pending).await.then_some(job),
        Phase::RollingBack => {
            finish_rollback(ctx, target, &pending, &job).await;
            None
        }
    }
}

fn job_of(target: &Target, pending: &PendingSwap) -> VerifyJob {
    VerifyJob {
        target: target.clone(),
        old_arn: pending.old_arn.clone(),
        new_arn: pending.new_arn.clone(),
        // Written by this program from a parsed serial; an unreadable one fails the edge
        // check with a clear message rather than passing it.
        new_serial: pending
            .new_serial
            .as_deref()
            .and_then(|s| Serial::parse(s).ok()),
        swapped_at: pending.swapped_at,
        deadline: pending.deadline,
        renewal: pending.renewal,
        expiry: pending.expiry,
    }
}

/// An intent: the process stopped between recording it and recording the swap. Returns
/// whether the swap happened (and is now recorded as such).
async fn settle_intent(ctx: &Context, target: &Target, pending: &PendingSwap) -> bool {
    let now_on = match ctx.consumer_for(target) {
        Ok(api) => api.describe().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match now_on {
        Ok(DomainView::Present(info))
            if info.certificate_arn.as_deref() == Some(pending.new_arn.as_str()) =>
        {
            info!(to = %pending.new_arn, "an interrupted swap did happen; verifying it with its original deadline");
            let (c, t, p) = (ctx.clone(), target.clone(), pending.clone());
            // The record and its announcement run to their end together.
            crate::lease::guard::to_the_end(async move { record_swap(&c, &t, &p).await }).await;
            true
        }
        Ok(_) => {
            info!("an interrupted swap never happened; dropping its intent and deciding afresh");
            if let Err(e) = crate::record::intent_dropped(&ctx.state, &target.domain).await {
                error!("cannot update the state: {}", Chain(&e));
            }
            false
        }
        Err(e) => {
            // Unknown: keep the intent (so nothing swaps on top of it) and retry later.
            warn!("cannot check an interrupted swap yet: {e}");
            false
        }
    }
}

/// Why a swap found by the next leader (or the next start) is announced by it.
const FOUND_SWAPPED: &str = "an interrupted swap did happen (recorded after a restart or failover)";

/// Record an interrupted swap that did happen as swapped, with its announcement in the
/// outbox, and announce it under this leader's lease.
async fn record_swap(ctx: &Context, target: &Target, pending: &PendingSwap) {
    let rotated = outbox::of_job(
        NoticeKind::Rotated,
        &job_of(target, pending),
        FOUND_SWAPPED.to_string(),
        ctx.clock.now(),
    );
    let recorded = crate::record::found_swapped(&ctx.state, &target.domain, &rotated).await;
    match recorded {
        Ok(()) => outbox::announce(ctx, &target.domain, &[rotated]).await,
        // Left in the outbox (if it got there): the next pass's drain announces it.
        Err(e) => error!("cannot record the swap: {}", Chain(&e)),
    }
}

/// A rollback decided before a stop: finish the write if it did not happen, then record the
/// failed swap.
async fn finish_rollback(ctx: &Context, target: &Target, pending: &PendingSwap, job: &VerifyJob) {
    let reason = pending
        .rollback_reason
        .clone()
        .unwrap_or_else(|| "the swap failed verification".to_string());
    let Some(old) = pending.old_arn.as_deref() else {
        // A rollback is only recorded with a previous certificate; nothing to put back.
        act::record_outcome(ctx, job, Verification::Failed(reason)).await;
        return;
    };
    let api = match ctx.consumer_for(target) {
        Ok(api) => api,
        Err(e) => {
            warn!("cannot finish an interrupted rollback yet: {e}");
            return;
        }
    };
    let done = match api.describe().await {
        Err(e) => {
            warn!("cannot finish an interrupted rollback yet: {e}");
            return;
        }
        Ok(DomainView::Present(info)) if info.certificate_arn.as_deref() == Some(old) => {
            info!("an interrupted rollback did happen; recording it");
            Ok(format!(
                "rolled back to the previous certificate {} (finished after a restart); {} is denylisted for this domain until `cognito-cert-rotator forget {}`",
                arn_tail(old),
                arn_tail(&pending.new_arn),
                target.domain
            ))
        }
        Ok(DomainView::Present(_)) => {
            info!(to = %old, "finishing an interrupted rollback");
            match act::reread_before_write(&api, target, Some(pending.new_arn.as_str())).await {
                Ok(info) => {
                    act::finish_rollback(ctx, target, &api, old, &pending.new_arn, &info).await
                }
                Err(e) => Err(act::NotRolledBack::Reread(e)),
            }
        }
        Ok(DomainView::Missing) => Err(act::NotRolledBack::DomainGone),
    };
    let detail = match done {
        Ok(done) => {
            warn!("{done}");
            format!("{reason}; {done}")
        }
        Err(not) if not.maybe() => {
            // Left in flight: the next pass (or start) re-reads the domain again.
            warn!("{}", Chain(&not));
            return;
        }
        Err(not) => {
            error!("{}", Chain(&not));
            format!("{reason}; {}", Chain(&not))
        }
    };
    act::record_outcome(ctx, job, Verification::Failed(detail)).await;
}
