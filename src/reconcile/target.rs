//! One observed target's step, carried out: external-change holds, change windows, the swap
//! or renewal, and what its outcome tells notifications and hooks.

use chrono::{DateTime, Utc};
use tracing::{error, warn};

use super::{notices, window, Acted};
use crate::act;
use crate::context::Context;
use crate::error::Chain;
use crate::outcome::{Outcome, Verification};
use crate::planned::Planned;
use crate::rollout::Gate;
use crate::state::State;
use crate::step::{self, Mode};
use crate::verify::VerifyJob;

/// Decide one observed target's step and carry it out.
#[tracing::instrument(name = "target", skip_all, fields(
    domain = %planned.target.domain,
    consumer = %planned.target.consumer_id(),
    account = %planned.target.role.as_ref().map_or("default", |r| r.role_arn.account.as_str()),
))]
pub(super) async fn act_on(
    ctx: &Context,
    mut planned: Planned,
    state: &State,
    gate: Option<Gate>,
    mode: Mode,
    now: DateTime<Utc>,
) -> Acted {
    let record = state.domains.get(&planned.target.domain);
    match step::external::external_change(&planned, record, now) {
        step::external::Moved::Hold { change, new, why } => {
            return hold_external(ctx, planned, change, new, why, mode).await;
        }
        step::external::Moved::SwapAnyway { why } => warn!("{why}"),
        step::external::Moved::No => {
            if record.is_some_and(|r| r.external.is_some()) && mode.writes() {
                // Moved again (back onto the rotator's, say): the hold is over.
                end_external_hold(ctx, &planned.target.domain).await;
            }
        }
    }
    let pending = record.and_then(|r| r.pending.as_ref());
    let seen = record.and_then(|r| r.seen.as_ref());
    let step = step::next_step(&planned, pending, seen, gate.as_ref(), mode);
    let next = step.next();
    let wants_swap = matches!(next, step::Next::Act(step::Act::Swap(_)));
    if let Some(d) = window::defer(ctx, &mut planned, wants_swap, now) {
        return Acted {
            planned,
            outcome: Outcome::Deferred(d.sentence()),
            job: None,
            wake_at: d.next,
        };
    }
    let (outcome, job) = carry_out(ctx, &planned, next, mode, now).await;
    if mode.writes() {
        notices::observed(ctx, &planned, &outcome, now);
    }
    if let (Outcome::Failed(why), true) = (&outcome, mode.writes()) {
        notices::fire_failure(ctx, &planned, why);
    }
    Acted {
        planned,
        outcome,
        job,
        wake_at: None,
    }
}

/// The outcome of a swap or renewal whose verification just started: the daemon verifies it
/// in the background; `once` says after its wait (or that it did not wait).
fn started(job: &VerifyJob, mode: Mode) -> Outcome {
    let verification = if mode.verifies_in_background() {
        Verification::InBackground(job.deadline)
    } else {
        Verification::NotRequested
    };
    job.outcome(verification)
}

/// Carry out the step: report it, or start a renewal's verification, or swap. A target
/// this replica no longer leads for is deferred to the leader, not failed.
async fn carry_out(
    ctx: &Context,
    planned: &Planned,
    next: step::Next,
    mode: Mode,
    now: DateTime<Utc>,
) -> (Outcome, Option<VerifyJob>) {
    let (outcome, job) = match next {
        step::Next::Report(outcome) => (outcome, None),
        step::Next::Act(step::Act::Renewal { was, now: version }) => {
            match act::renewal::start(ctx, planned, &was, &version, now).await {
                Ok(job) => (started(&job, mode), Some(job)),
                Err(error) => (Outcome::Failed(error), None),
            }
        }
        step::Next::Act(step::Act::Swap(order)) => {
            match act::swap(ctx, planned, order, now).await {
                Ok(job) => (started(&job, mode), Some(job)),
                // Someone else is changing the domain: not a failure of ours; the next pass
                // re-reads the domain and decides again.
                Err(error) if error.is_concurrent_modification() => {
                    warn!("{error}");
                    (Outcome::Deferred(error.to_string()), None)
                }
                Err(error) => (Outcome::Failed(error), None),
            }
        }
    };
    match outcome {
        // A request the lease guard did not send, or a state write the fence refused: this
        // replica no longer leads. Not a failure (no hook, no backoff): the leader acts on it.
        Outcome::Failed(error) if error.is_not_leading() => {
            tracing::debug!("{error}");
            let deferred = "not leading any more: the leader acts on it".to_string();
            (Outcome::Deferred(deferred), job)
        }
        other => (other, job),
    }
}

/// The domain was moved back (onto the rotator's certificate, say): its external-change hold
/// is over.
async fn end_external_hold(ctx: &Context, domain: &str) {
    let cleared = crate::record::hold_cleared(&ctx.state, domain).await;
    if let Err(e) = cleared {
        warn!("cannot clear the external-change hold: {}", Chain(&e));
    }
}

/// A domain moved off the rotator's certificate outside it: no swap. Found in this pass (and
/// acting), it is recorded, logged with both ARNs, counted and reported to `on_failure` once.
async fn hold_external(
    ctx: &Context,
    planned: Planned,
    change: crate::state::ExternalChange,
    new: bool,
    why: String,
    mode: Mode,
) -> Acted {
    if new && mode.writes() {
        error!(ours = %change.ours, found = %change.found, "{why}");
        ctx.metrics.count_external_change(&planned.target.domain);
        let stored = crate::record::hold_set(&ctx.state, &planned.target.domain, &change).await;
        if let Err(e) = stored {
            error!("cannot record the external change: {}", Chain(&e));
        }
        notices::external_change(ctx, &planned, &change.found, &why, ctx.clock.now());
        ctx.hooks.fire(crate::hooks::HookEvent {
            event: crate::hooks::Event::Failure,
            domain: planned.target.domain.clone(),
            consumer: planned.target.consumer_id().to_string(),
            consumer_kind: planned.target.kind(),
            old_arn: Some(change.ours.clone()),
            new_arn: Some(change.found.clone()),
            reason: why.clone(),
            id: None,
            renewal: false,
        });
    }
    Acted {
        planned,
        outcome: Outcome::ExternalChange(why),
        job: None,
        wake_at: None,
    }
}
