//! The notifications (`notify:`) of one observed target after its step: a failure, a
//! certificate running out with nothing better, a managed renewal that needs a person.
//! Each is keyed so it is sent once ([`crate::notices`]). And a failure's `on_failure` hook.

use chrono::{DateTime, Utc};

use crate::context::Context;
use crate::model::NoticeKind;
use crate::notices::{expiring, Notice};
use crate::outcome::Outcome;
use crate::planned::Planned;

/// `on_failure` for a target that failed in this pass (never in a dry run, which promises no
/// side effect).
pub(super) fn fire_failure(ctx: &Context, planned: &Planned, why: &crate::error::TargetError) {
    ctx.hooks.fire(crate::hooks::HookEvent {
        event: crate::hooks::Event::Failure,
        domain: planned.target.domain.clone(),
        consumer: planned.target.consumer_id().to_string(),
        consumer_kind: planned.target.kind(),
        old_arn: planned.decision.current_arn.clone(),
        new_arn: planned.decision.candidate.as_ref().map(|c| c.arn.clone()),
        reason: why.to_string(),
        id: None,
        renewal: false,
    });
}

/// Queue what `planned`'s outcome calls for (nothing in a dry run).
pub(super) fn observed(ctx: &Context, planned: &Planned, outcome: &Outcome, now: DateTime<Utc>) {
    if let Outcome::Failed(error) = outcome {
        // One per kind of failure and candidate a day: a target failing every pass for the
        // same reason is not a message every pass.
        let about = planned
            .decision
            .candidate
            .as_ref()
            .map_or("-", |c| c.arn.as_str());
        let detail = format!(
            "{}:{about}:{}",
            error.metric_label(),
            now.format("%Y-%m-%d")
        );
        ctx.notices.send(Notice::about(
            NoticeKind::Failed,
            planned,
            error.to_string(),
            &detail,
            now,
        ));
    }
    if let Some(notice) = expiring(planned, now) {
        ctx.notices.send(notice);
    }
    let renewal = planned
        .managed_renewal
        .as_ref()
        .filter(|r| r.needs_action());
    if let (Some(r), Some(current)) = (renewal, planned.decision.current.as_ref()) {
        ctx.notices.send(Notice::about(
            NoticeKind::RenewalActionRequired,
            planned,
            r.summary(),
            &format!("{}:{}", current.arn, r.status),
            now,
        ));
    }
}

/// The domain was found moved outside the rotator: one notice per certificate found.
pub(super) fn external_change(
    ctx: &Context,
    planned: &Planned,
    found: &str,
    why: &str,
    now: DateTime<Utc>,
) {
    let mut notice = Notice::about(
        NoticeKind::ExternalChange,
        planned,
        why.to_string(),
        found,
        now,
    );
    notice.new = Some(crate::notices::CertRef::arn(found));
    ctx.notices.send(notice);
}
