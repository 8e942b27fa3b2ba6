//! The write protocols, and only those. Each write to Cognito is bracketed by state records,
//! so a crash anywhere leaves a state the next start settles by re-reading the domain
//! ([`crate::resume`]):
//!
//! - **swap**: re-read the domain → record the intent → `UpdateUserPoolDomain` → record
//!   "swapped" with the verification deadline.
//! - **rollback** (`verify.on_failure: rollback`): check the old certificate is still usable
//!   → re-read → record the rollback intent *and* denylist the new certificate →
//!   `UpdateUserPoolDomain` back → (the caller records the outcome).
//!
//! Nothing is swapped twice, and no swap or rollback is forgotten.

use chrono::{DateTime, Utc};
use tracing::{debug, error, info, warn};

use crate::aws::consumer::ConsumerApi;
use crate::config::Target;
use crate::context::Context;
use crate::error::Chain;
use crate::error::TargetError;
use crate::lease::guard::to_the_end;
use crate::metrics::ResultLabels;
use crate::model::{DomainInfo, DomainView, NoticeKind};
use crate::outbox;
use crate::outcome::Verification;
use crate::planned::Planned;
use crate::record;
use crate::state::{Announcement, FinishedSwap, PendingSwap, Phase, StateError, SwapResult};
use crate::step::SwapOrder;
use crate::verify::VerifyJob;

pub mod renewal;
mod rollback;
pub use rollback::{finish_rollback, roll_back, NotRolledBack};
pub mod write;
pub use write::reread_before_write;

/// The end of the verification window of `target`'s swap (or renewal) seen at `at`.
fn verify_deadline(ctx: &Context, target: &Target, at: DateTime<Utc>) -> DateTime<Utc> {
    crate::clock::after(at, ctx.config.verify.window_for(target.kind()))
}

/// Swap `planned`'s domain onto `order.to`: re-read, record the intent, write, record the
/// swap. Returns the verification job.
pub async fn swap(
    ctx: &Context,
    planned: &Planned,
    order: SwapOrder,
    now: DateTime<Utc>,
) -> Result<VerifyJob, TargetError> {
    let target = &planned.target;
    let from = planned.decision.current_arn.clone();
    let api = ctx.consumer_for(target)?;
    let info = reread_before_write(&api, target, from.as_deref()).await?;
    let mut pending = PendingSwap {
        phase: Phase::Intent,
        consumer: target.consumer_id().to_string(),
        old_arn: from.clone(),
        new_arn: order.to.clone(),
        new_serial: Some(order.serial.to_string()),
        recorded_at: now,
        swapped_at: None,
        deadline: verify_deadline(ctx, target, now),
        rollback_reason: None,
        renewal: false,
        expiry: expiry_of(planned),
    };
    record_intent(ctx, planned, &pending).await?;
    if let Err(failed) = write::write_certificate(&api, from.as_deref(), &order.to, &info).await {
        return Err(unwritten(ctx, &target.domain, failed).await);
    }
    let swapped_at = ctx.clock.now();
    check_settings_kept(ctx, &api, target, &info).await;
    pending.phase = Phase::Swapped;
    pending.swapped_at = Some(swapped_at);
    let job = VerifyJob {
        target: target.clone(),
        old_arn: from,
        new_arn: order.to.clone(),
        new_serial: Some(order.serial.clone()),
        swapped_at: Some(swapped_at),
        deadline: pending.deadline,
        renewal: false,
        expiry: pending.expiry,
    };
    let rotated = outbox::of_job(
        NoticeKind::Rotated,
        &job,
        planned.decision.reason.clone(),
        swapped_at,
    );
    // Not leading: no verification here either; the next leader's resume starts it.
    record_and_announce_swap(ctx, &target.domain, pending, rotated, order.canary).await?;
    Ok(job)
}

/// The swap is recorded with its announcement (the outbox): whoever leads fires its
/// `on_rotate` hook and notification, this replica at once. One the fence refused is
/// recorded and announced by the next leader's resume. The record and its announcement run
/// to their end together, even if the pass is cut short.
async fn record_and_announce_swap(
    ctx: &Context,
    domain: &str,
    swapped: PendingSwap,
    rotated: Announcement,
    canary: bool,
) -> Result<(), TargetError> {
    let (c, domain) = (ctx.clone(), domain.to_string());
    to_the_end(async move {
        let recorded = record_swapped(&c, &domain, &swapped, &rotated).await;
        log_swap(&c, &rotated, &domain, canary);
        if recorded.is_ok() {
            outbox::announce(&c, &domain, &[rotated]).await;
        }
        recorded
    })
    .await
    .unwrap_or_else(|| {
        Err(TargetError::state(
            "swapped, but not recorded (shutting down)",
            StateError::NotLeader,
        ))
    })
}

/// A swap's write that did not go through: its intent is dropped when the write surely was
/// not made, and kept when it may have been (settled by a re-read: the daemon's next pass,
/// or the next start).
async fn unwritten(ctx: &Context, domain: &str, failed: write::Unwritten) -> TargetError {
    if failed.maybe {
        warn!("the swap may have happened: its intent stays until a re-read settles it");
        return failed.error;
    }
    match record::intent_dropped(&ctx.state, domain).await {
        Ok(()) => {}
        // Not leading: the next leader re-reads the domain and settles the intent.
        Err(StateError::NotLeader) => debug!("the intent stays for the next leader"),
        Err(se) => error!("cannot clear the intent: {}", Chain(&se)),
    }
    failed.error
}

/// When the current certificate and the candidate expire.
fn expiry_of(planned: &Planned) -> crate::state::records::Expiry {
    crate::state::records::Expiry {
        old: planned.decision.current.as_ref().and_then(|c| c.not_after),
        new: planned
            .decision
            .candidate
            .as_ref()
            .and_then(|c| c.not_after),
    }
}

/// Record the swap's intent (and the new certificate's version, so its later renewal in
/// place is recognised) before the write: a stop after the write still finds it.
async fn record_intent(
    ctx: &Context,
    planned: &Planned,
    intent: &PendingSwap,
) -> Result<(), TargetError> {
    let seen = planned
        .decision
        .candidate
        .as_ref()
        .map(crate::state::SeenCertificate::of);
    record::intent(&ctx.state, &planned.target.domain, intent, seen.as_ref())
        .await
        .map_err(|e| TargetError::state("not swapping: cannot record the intent", e))
}

/// Record that the write was made; a failure is logged (the intent is recorded, so a
/// restart still finds and verifies this swap). An error when the fence refused the record:
/// this replica no longer leads, and the next leader's resume records the swap.
async fn record_swapped(
    ctx: &Context,
    domain: &str,
    swapped: &PendingSwap,
    rotated: &Announcement,
) -> Result<(), TargetError> {
    match record::swapped(&ctx.state, domain, swapped, rotated).await {
        Ok(()) => Ok(()),
        Err(StateError::NotLeader) => {
            warn!("swapped, but this replica no longer leads: the next leader records the swap, announces it and verifies it");
            Err(TargetError::state(
                "swapped, but not recorded",
                StateError::NotLeader,
            ))
        }
        Err(e) => {
            error!("swapped, but cannot record it: {}", Chain(&e));
            Ok(())
        }
    }
}

/// Say that the swap was made: the log and the verification metric (its hook and
/// notification come from the outbox).
fn log_swap(ctx: &Context, rotated: &Announcement, domain: &str, canary: bool) {
    info!(consumer = %rotated.consumer,
        from = rotated.old_arn.as_deref().unwrap_or("none"),
        to = %rotated.new_arn,
        canary,
        "swapped the certificate; {}",
        rotated.consumer_kind.spread()
    );
    ctx.metrics.set_verification_state(domain, "verifying");
}

/// After a write, read the domain again and report every setting that is not as it was
/// before (the write sends them all back as read; a difference means Cognito changed one).
async fn check_settings_kept(
    ctx: &Context,
    api: &ConsumerApi<'_>,
    target: &Target,
    before: &DomainInfo,
) {
    match api.describe().await {
        Ok(DomainView::Present(after)) => {
            for (setting, was, now) in before.changed_settings(&after) {
                error!(setting, before = %was, after = %now, "the swap changed a domain setting it sent back unchanged; check the domain and restore it");
                ctx.metrics.count_setting_changed(&target.domain, setting);
            }
        }
        Ok(DomainView::Missing) => {
            error!("the domain is gone right after the swap")
        }
        Err(e) => {
            tracing::warn!("cannot re-read the domain to check its settings after the swap: {e}")
        }
    }
}

/// Record how a verified (or failed) swap ended — state, metrics, and its announcement
/// (hooks, notification) through the outbox — and return the
/// verdict. A failure is counted in `target_failures_total{reason="verification"}`.
pub async fn record_outcome(ctx: &Context, job: &VerifyJob, verdict: Verification) -> Verification {
    record_outcome_of(ctx, job, verdict, false).await
}

/// [`record_outcome`] of a failed swap that was `rolled_back` (notified as such). The record
/// and its announcement run to their end together, even if the verification is aborted.
pub async fn record_outcome_of(
    ctx: &Context,
    job: &VerifyJob,
    verdict: Verification,
    rolled_back: bool,
) -> Verification {
    let (c, j, v) = (ctx.clone(), job.clone(), verdict.clone());
    to_the_end(async move { record_and_announce(&c, &j, v, rolled_back).await })
        .await
        .unwrap_or(verdict)
}

async fn record_and_announce(
    ctx: &Context,
    job: &VerifyJob,
    verdict: Verification,
    rolled_back: bool,
) -> Verification {
    let (result, label, detail) = match &verdict {
        Verification::Verified(d) => (SwapResult::Verified, "verified", d.clone()),
        // Only a finished verification is recorded: anything else counts as failed.
        other => (SwapResult::Failed, "failed", other.summary()),
    };
    let kind = match (&verdict, rolled_back) {
        (Verification::Verified(_), _) => NoticeKind::Verified,
        (_, true) => NoticeKind::RolledBack,
        (_, false) => NoticeKind::Failed,
    };
    let ended = outbox::of_job(kind, job, detail.clone(), ctx.clock.now());
    if !record_finished(ctx, job, result, &detail, Some(&ended)).await {
        // Not recorded under the lease: the swap stays in flight for whoever leads, which
        // verifies and reports it. Nothing is counted or fired twice.
        return verdict;
    }
    let counter = if job.renewal {
        &ctx.metrics.renewals
    } else {
        &ctx.metrics.rotations
    };
    counter
        .get_or_create(&ResultLabels {
            domain: job.target.domain.clone(),
            result: label.to_string(),
        })
        .inc();
    ctx.metrics
        .set_verification_state(&job.target.domain, label);
    if !matches!(verdict, Verification::Verified(_)) {
        ctx.metrics
            .count_failure(&job.target.domain, TargetError::VERIFICATION);
    }
    outbox::announce(ctx, &job.target.domain, &[ended]).await;
    verdict
}

/// Record how a swap ended: it leaves the in-flight slot and becomes the domain's last swap,
/// with its `announcement` in the outbox (in the same write). `false` when it could not be
/// recorded (then nothing else may be done with the outcome).
pub async fn record_finished(
    ctx: &Context,
    job: &VerifyJob,
    result: SwapResult,
    detail: &str,
    announcement: Option<&Announcement>,
) -> bool {
    let finished = FinishedSwap {
        old_arn: job.old_arn.clone(),
        new_arn: job.new_arn.clone(),
        swapped_at: job.swapped_at,
        finished_at: ctx.clock.now(),
        result,
        detail: detail.to_string(),
        renewal: job.renewal,
    };
    let moved_off = ctx.config.retire.is_some();
    match record::finished(
        &ctx.state,
        &job.target.domain,
        &finished,
        announcement,
        moved_off,
    )
    .await
    {
        Ok(()) => true,
        Err(StateError::NotLeader) => {
            tracing::debug!("not leading any more: the outcome is left to the leader");
            false
        }
        Err(e) => {
            error!("cannot record the outcome: {}", Chain(&e));
            false
        }
    }
}
