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
use tracing::{error, info};

use crate::aws::cognito::CognitoDomains;
use crate::config::Target;
use crate::context::Context;
use crate::error::Chain;
use crate::error::TargetError;
use crate::hooks::{Event, HookEvent};
use crate::metrics::ResultLabels;
use crate::model::{arn_tail, DomainInfo, DomainView};
use crate::observe::Planned;
use crate::outcome::Verification;
use crate::state::{Denied, FinishedSwap, PendingSwap, Phase, SwapResult};
use crate::step::SwapOrder;
use crate::verify::VerifyJob;

pub mod renewal;
pub mod write;

/// Read the domain again right before writing to it: a decision is only as fresh as the read
/// it was based on. The domain must still exist, belong to the target's user pool, be a custom
/// domain and point at `expected`, so a concurrent change (a person, another rotator) is never
/// overwritten.
pub async fn reread_before_write(
    cognito: &CognitoDomains,
    target: &Target,
    expected: Option<&str>,
) -> Result<DomainInfo, TargetError> {
    let fresh = cognito
        .describe(&target.domain)
        .await
        .map_err(|e| TargetError::aws("cannot re-read the domain before writing", e))?;
    let changed = |why: String| Err(TargetError::Changed(why));
    let DomainView::Present(info) = fresh else {
        return changed("the domain disappeared".into());
    };
    if info.user_pool_id != target.user_pool_id {
        return changed(format!(
            "domain {} belongs to user pool {}, not {}",
            target.domain, info.user_pool_id, target.user_pool_id
        ));
    }
    if info.certificate_arn.is_none() {
        return changed("the domain is not a custom domain any more".into());
    }
    if info.certificate_arn.as_deref() != expected {
        return changed(format!(
            "the domain's certificate changed since it was read (now {})",
            info.certificate_arn.as_deref().unwrap_or("none")
        ));
    }
    Ok(info)
}

/// The end of the verification window of a swap (or renewal) seen at `at`.
fn verify_deadline(ctx: &Context, at: DateTime<Utc>) -> DateTime<Utc> {
    let window = chrono::Duration::from_std(ctx.config.verify.window)
        .unwrap_or_else(|_| chrono::Duration::hours(1));
    at + window
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
    let cognito = ctx.cognito_for(target)?;
    let info = reread_before_write(cognito, target, from.as_deref()).await?;
    let mut pending = PendingSwap {
        phase: Phase::Intent,
        user_pool_id: target.user_pool_id.clone(),
        old_arn: from.clone(),
        new_arn: order.to.clone(),
        new_serial: Some(order.serial.to_string()),
        recorded_at: now,
        swapped_at: None,
        deadline: verify_deadline(ctx, now),
        rollback_reason: None,
        renewal: false,
    };
    let intent = pending.clone();
    // The new certificate's version, so its later renewal in place is recognised.
    let seen = planned
        .decision
        .candidate
        .as_ref()
        .map(crate::state::SeenCertificate::of);
    ctx.state
        .update(|s| {
            let r = s.domains.entry(target.domain.clone()).or_default();
            r.pending = Some(intent.clone());
            if seen.is_some() {
                r.seen.clone_from(&seen);
            }
        })
        .await
        .map_err(|e| TargetError::state("not swapping: cannot record the intent", e))?;

    if let Err(e) =
        write::write_certificate(cognito, target, from.as_deref(), &order.to, &info).await
    {
        if let Err(se) = clear_pending(ctx, &target.domain).await {
            error!(domain = %target.domain, "cannot clear the intent: {se}");
        }
        return Err(e);
    }
    let swapped_at = ctx.clock.now();
    check_settings_kept(ctx, cognito, target, &info).await;
    pending.phase = Phase::Swapped;
    pending.swapped_at = Some(swapped_at);
    let record = pending.clone();
    if let Err(e) = ctx
        .state
        .update(|s| {
            s.domains.entry(target.domain.clone()).or_default().pending = Some(record.clone())
        })
        .await
    {
        // The intent is recorded: a restart still finds and verifies this swap.
        error!(domain = %target.domain, "swapped, but cannot record it: {}", Chain(&e));
    }
    info!(
        domain = %target.domain,
        user_pool_id = %target.user_pool_id,
        from = from.as_deref().unwrap_or("none"),
        to = %order.to,
        canary = order.canary,
        "swapped the certificate; CloudFront may take up to an hour to serve it"
    );
    ctx.metrics
        .set_verification_state(&target.domain, "verifying");
    ctx.hooks.fire(HookEvent {
        event: Event::Rotate,
        domain: target.domain.clone(),
        user_pool_id: target.user_pool_id.clone(),
        old_arn: from.clone(),
        new_arn: Some(order.to.clone()),
        reason: planned.decision.reason.clone(),
        renewal: false,
    });
    Ok(VerifyJob {
        target: target.clone(),
        old_arn: from,
        new_arn: order.to,
        new_serial: Some(order.serial),
        swapped_at: Some(swapped_at),
        deadline: pending.deadline,
        renewal: false,
    })
}

/// Why a rollback was not made (or failed): the new certificate stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotRolledBack(pub String);

impl From<String> for NotRolledBack {
    fn from(why: String) -> NotRolledBack {
        NotRolledBack(why)
    }
}

/// `verify.on_failure: rollback`: put the previous certificate back when it is still usable
/// and the domain still points at the new one, and denylist the new one for this domain.
/// The intent and the denylist entry are recorded before the write. `Ok` says what was done,
/// `Err` why nothing was.
pub async fn roll_back(ctx: &Context, job: &VerifyJob, why: &str) -> Result<String, NotRolledBack> {
    let target = &job.target;
    let Some(old) = job.old_arn.clone() else {
        return Err(NotRolledBack(
            "not rolled back: there is no previous certificate".into(),
        ));
    };
    let account = ctx.account_for(target).map_err(|e| e.to_string())?;
    let cognito = ctx.cognito_for(target).map_err(|e| e.to_string())?;
    let mut cert = match account.acm.describe(&old).await {
        Ok(Some(d)) => d.certificate,
        Ok(None) => {
            return Err(NotRolledBack(format!(
                "not rolled back: the previous certificate {} is gone from ACM",
                arn_tail(&old)
            )))
        }
        Err(e) => {
            return Err(NotRolledBack(format!(
                "not rolled back: cannot read the previous certificate: {e}"
            )))
        }
    };
    let no_denied = std::collections::BTreeMap::new();
    // The previous certificate was usually replaced *because* it was inside min_validity:
    // for going back it only has to be usable now (issued, valid, covering the domain,
    // served by CloudFront, tagged as required).
    let req = crate::select::Requirements {
        domain: &target.domain,
        min_validity: crate::model::MinValidity::NONE,
        require_tags: &target.require_tags,
        denied: &no_denied,
    };
    if crate::select::needs(&req, &cert).tags {
        cert.tags = Some(
            account
                .acm
                .tags(&old)
                .await
                .map_err(|e| format!("not rolled back: cannot read its tags: {e}"))?,
        );
    }
    let now = ctx.clock.now();
    if let Err(why) = crate::select::eligibility(&req, &cert, now) {
        return Err(NotRolledBack(format!(
            "not rolled back: the previous certificate {} is no longer eligible ({why}); the new one stays",
            arn_tail(&old)
        )));
    }
    let info = reread_before_write(cognito, target, Some(job.new_arn.as_str()))
        .await
        .map_err(|e| format!("not rolled back: {e}; leaving it alone"))?;
    let (domain, new_arn, reason) = (target.domain.clone(), job.new_arn.clone(), why.to_string());
    ctx.state
        .update(|s| {
            let r = s.domains.entry(domain.clone()).or_default();
            r.denylist.insert(
                new_arn.clone(),
                Denied {
                    since: now,
                    reason: "its swap failed verification and was rolled back".into(),
                },
            );
            if let Some(p) = r.pending.as_mut() {
                p.phase = Phase::RollingBack;
                p.rollback_reason = Some(reason.clone());
            }
        })
        .await
        .map_err(|e| format!("not rolled back: cannot record the rollback first: {e}"))?;
    info!(domain = %target.domain, to = %old, "rolling back: the new certificate is denylisted for this domain");
    finish_rollback(ctx, target, cognito, &old, &job.new_arn, &info).await
}

/// The rollback's write, after its intent is recorded (also when a restart finishes it).
/// On a refused write the denylist entry is taken back: the new certificate stays in use.
pub async fn finish_rollback(
    ctx: &Context,
    target: &Target,
    cognito: &CognitoDomains,
    old: &str,
    new: &str,
    info: &DomainInfo,
) -> Result<String, NotRolledBack> {
    if let Err(e) = write::write_certificate(cognito, target, Some(new), old, info).await {
        let (domain, new) = (target.domain.clone(), new.to_string());
        let undone = ctx
            .state
            .update(|s| {
                if let Some(r) = s.domains.get_mut(&domain) {
                    r.denylist.remove(&new);
                }
            })
            .await;
        if let Err(se) = undone {
            error!(domain = %target.domain, "cannot take back the denylist entry: {se}");
        }
        return Err(NotRolledBack(format!("rollback failed: {e}")));
    }
    ctx.metrics
        .rotations
        .get_or_create(&ResultLabels {
            domain: target.domain.clone(),
            result: "rolled_back".to_string(),
        })
        .inc();
    Ok(format!(
        "rolled back to the previous certificate {}; {} is denylisted for this domain until `cognito-cert-rotator forget {}`",
        arn_tail(old),
        arn_tail(new),
        target.domain
    ))
}

/// After a write, read the domain again and report every setting that is not as it was
/// before (the write sends them all back as read; a difference means Cognito changed one).
async fn check_settings_kept(
    ctx: &Context,
    cognito: &CognitoDomains,
    target: &Target,
    before: &DomainInfo,
) {
    match cognito.describe(&target.domain).await {
        Ok(DomainView::Present(after)) => {
            for (setting, was, now) in before.changed_settings(&after) {
                error!(domain = %target.domain, setting, before = %was, after = %now, "the swap changed a domain setting it sent back unchanged; check the domain and restore it");
                ctx.metrics.count_setting_changed(&target.domain, setting);
            }
        }
        Ok(DomainView::Missing) => {
            error!(domain = %target.domain, "the domain is gone right after the swap")
        }
        Err(e) => {
            tracing::warn!(domain = %target.domain, "cannot re-read the domain to check its settings after the swap: {e}")
        }
    }
}

/// Record how a verified (or failed) swap ended — state, metrics, hooks — and return the
/// verdict. A failure is counted in `target_failures_total{kind="verification"}`.
pub async fn record_outcome(ctx: &Context, job: &VerifyJob, verdict: Verification) -> Verification {
    let (result, label, event, detail) = match &verdict {
        Verification::Verified(d) => (SwapResult::Verified, "verified", Event::Verified, d.clone()),
        // Only a finished verification is recorded: anything else counts as failed.
        other => (
            SwapResult::Failed,
            "failed",
            Event::Failure,
            other.describe(),
        ),
    };
    record_finished(ctx, job, result, &detail).await;
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
    ctx.hooks.fire(HookEvent {
        event,
        domain: job.target.domain.clone(),
        user_pool_id: job.target.user_pool_id.clone(),
        old_arn: job.old_arn.clone(),
        new_arn: Some(job.new_arn.clone()),
        reason: detail,
        renewal: job.renewal,
    });
    verdict
}

/// Record how a swap ended: it leaves the in-flight slot and becomes the domain's last swap.
pub async fn record_finished(ctx: &Context, job: &VerifyJob, result: SwapResult, detail: &str) {
    let finished = FinishedSwap {
        old_arn: job.old_arn.clone(),
        new_arn: job.new_arn.clone(),
        swapped_at: job.swapped_at,
        finished_at: ctx.clock.now(),
        result,
        detail: detail.to_string(),
        renewal: job.renewal,
    };
    let recorded = ctx
        .state
        .update(|s| {
            let r = s.domains.entry(job.target.domain.clone()).or_default();
            r.pending = None;
            r.last = Some(finished.clone());
        })
        .await;
    if let Err(e) = recorded {
        error!(domain = %job.target.domain, "cannot record the outcome: {}", Chain(&e));
    }
}

/// Drop the swap in flight for `domain` (an intent whose write failed or never happened).
pub async fn clear_pending(ctx: &Context, domain: &str) -> Result<(), crate::state::StateError> {
    ctx.state
        .update(|s| {
            if let Some(r) = s.domains.get_mut(domain) {
                r.pending = None;
            }
        })
        .await
}
