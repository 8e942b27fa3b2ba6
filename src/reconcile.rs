//! One pass, in one direction: **observe** ([`crate::plan`]) → **decide** each target's
//! next step ([`crate::step`], pure) → **act** ([`crate::act`]) → hand swaps to
//! **verification** ([`crate::verify`]) → **record** the outcome ([`crate::act::record_outcome`]).
//!
//! [`pass`] returns typed [`Outcome`]s and the swaps made; [`verification::once`] is `once [--wait]`
//! (resume, pass, verify); the daemon calls [`pass`] on its schedule and
//! [`verification::verify_and_record`] per swap.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tracing::{error, info, warn};

use crate::act;
use crate::context::Context;
use crate::error::{Chain, TargetError};
use crate::outcome::{Outcome, Verification};
use crate::plan;
use crate::planned::Planned;
use crate::rollout::{Gate, Gating};
use crate::state::State;
use crate::step::{self, Mode};
use crate::verify::VerifyJob;

/// What one pass did.
#[derive(Debug, Clone)]
pub struct PassResult {
    /// Every target with its outcome, in config order.
    pub results: Vec<(Planned, Outcome)>,
    /// Swaps made in this pass, to be verified.
    pub jobs: Vec<VerifyJob>,
    /// The earliest instant a swap deferred by a change window or freeze may be made: the
    /// daemon runs a pass then, not only at its next scheduled tick.
    pub wake_at: Option<DateTime<Utc>>,
}

/// One target after a pass.
struct Acted {
    planned: Planned,
    outcome: Outcome,
    job: Option<VerifyJob>,
    /// When a deferred swap may be made (the daemon runs a pass then).
    wake_at: Option<DateTime<Utc>>,
}

/// Observe, decide and act for every target. Targets backing off are skipped without an AWS
/// call; with `rollout:`, every account is observed before the gates are decided (canary
/// groups span accounts); without it each account goes from observing to swapping on its own.
pub async fn pass(ctx: &Context, mode: Mode, now: DateTime<Utc>) -> PassResult {
    let state = match ctx.state.snapshot().await {
        Ok(s) => s,
        Err(e) => {
            // Without the state nothing is known about swaps in flight: act on nothing.
            error!("not acting: cannot read the state: {e}");
            let targets = ctx.config.targets.iter().cloned();
            return finish(
                ctx,
                unacted(targets.map(Planned::not_observed).collect(), e),
            );
        }
    };
    if mode.writes() {
        // Outcomes recorded but not announced yet (their replica stopped in between).
        crate::outbox::drain(ctx, &state).await;
    }
    let mut acted = Vec::new();
    let mut attempt = Vec::new();
    for t in &ctx.config.targets {
        match step::backoff(state.domains.get(&t.domain), mode) {
            Some(skipped) => acted.push(Acted {
                planned: Planned::not_observed(t.clone()),
                outcome: skipped,
                job: None,
                wake_at: None,
            }),
            None => attempt.push(t),
        }
    }
    let concurrency = ctx.config.concurrency.max(1);
    // A dry run swaps nothing, so it reads no serial unless a rollout groups by serial.
    let serials = mode.writes() || ctx.config.rollout.enabled();
    if ctx.config.rollout.enabled() {
        let planned = plan::for_targets(ctx, &attempt, serials, now).await;
        match ctx.state.snapshot().await {
            Ok(state) => {
                let gating = gating(ctx, &planned, &state, mode, now).await;
                let done: Vec<Acted> = futures_util::stream::iter(planned)
                    .map(|p| {
                        let gate = gating.gates.get(&p.target.domain).cloned();
                        act_on(ctx, p, &state, gate, mode, now)
                    })
                    .buffered(concurrency)
                    .collect()
                    .await;
                acted.extend(done);
            }
            Err(e) => acted.extend(unacted(planned, e)),
        }
    } else {
        let groups = plan::by_account(&attempt);
        let per_account =
            futures_util::future::join_all(groups.iter().map(|(key, group)| async move {
                let planned = plan::account(ctx, key, group, serials, now).await;
                match ctx.state.snapshot().await {
                    Ok(state) => {
                        futures_util::stream::iter(planned)
                            .map(|p| act_on(ctx, p, &state, Some(Gate::Go), mode, now))
                            .buffered(concurrency)
                            .collect::<Vec<_>>()
                            .await
                    }
                    Err(e) => unacted(planned, e),
                }
            }))
            .await;
        acted.extend(per_account.into_iter().flatten());
    }
    if mode.writes() {
        remember_versions(ctx, &acted, &state).await;
    }
    if mode.counts_failures() {
        record_backoff(ctx, &acted).await;
    }
    finish(ctx, acted)
}

/// Record the certificate versions seen for the first time (or after a swap by anyone),
/// so a later change behind the same ARN is known for an in-place renewal.
async fn remember_versions(ctx: &Context, acted: &[Acted], state: &State) {
    let versions = acted
        .iter()
        .filter(|a| a.job.is_none() && a.planned.error.is_none())
        .filter_map(|a| {
            let domain = &a.planned.target.domain;
            let seen = state.domains.get(domain).and_then(|r| r.seen.as_ref());
            match step::version_change(a.planned.decision.current.as_ref(), seen) {
                step::Version::New(v) => Some((domain.clone(), v)),
                _ => None,
            }
        })
        .collect();
    act::renewal::remember(ctx, versions).await;
}

/// Count the failures and put the targets back in config order.
fn finish(ctx: &Context, mut acted: Vec<Acted>) -> PassResult {
    for a in &acted {
        if let Outcome::Failed(e) = &a.outcome {
            ctx.metrics
                .count_failure(&a.planned.target.domain, e.metric_label());
        }
    }
    // Back to config order.
    let order: HashMap<&str, usize> = ctx
        .config
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.domain.as_str(), i))
        .collect();
    acted.sort_by_key(|a| order.get(a.planned.target.domain.as_str()).copied());
    let mut results = Vec::with_capacity(acted.len());
    let mut jobs = Vec::new();
    let wake_at = acted.iter().filter_map(|a| a.wake_at).min();
    for a in acted {
        jobs.extend(a.job);
        results.push((a.planned, a.outcome));
    }
    PassResult {
        results,
        jobs,
        wake_at,
    }
}

/// Targets observed but not acted on: the state (swaps in flight) could not be read.
fn unacted(planned: Vec<Planned>, e: crate::state::StateError) -> Vec<Acted> {
    let error = TargetError::state("not acting: cannot read the state", e);
    planned
        .into_iter()
        .map(|planned| Acted {
            planned,
            outcome: Outcome::Failed(error.clone()),
            job: None,
            wake_at: None,
        })
        .collect()
}

/// The canary gates; new and finished rollouts are recorded (when the mode writes).
async fn gating(
    ctx: &Context,
    planned: &[Planned],
    state: &State,
    mode: Mode,
    now: DateTime<Utc>,
) -> Gating {
    let gating = step::gates(&ctx.config.rollout, planned, state, now);
    if mode.writes() && !gating.records.is_empty() {
        for (key, record) in &gating.records {
            match record {
                Some(r) => {
                    info!(rollout = %key, canaries = %r.canaries.keys().cloned().collect::<Vec<_>>().join(", "), "starting a canary rollout: the canaries swap first, the rest wait for their verification")
                }
                None => info!(rollout = %key, "canary rollout finished"),
            }
        }
        let stored = crate::record::rollouts(&ctx.state, &gating.records).await;
        if let Err(e) = stored {
            error!("cannot record the rollout: {}", Chain(&e));
        }
    }
    gating
}

/// The domain was moved back (onto the rotator's certificate, say): its external-change hold
/// is over.
async fn end_external_hold(ctx: &Context, domain: &str) {
    let cleared = crate::record::hold_cleared(&ctx.state, domain).await;
    if let Err(e) = cleared {
        warn!("cannot clear the external-change hold: {}", Chain(&e));
    }
}

/// Decide one observed target's step and carry it out.
#[tracing::instrument(name = "target", skip_all, fields(
    domain = %planned.target.domain,
    user_pool = %planned.target.user_pool_id,
    account = %planned.target.role.as_ref().map_or("default", |r| r.role_arn.account.as_str()),
))]
async fn act_on(
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
    let (outcome, job) = match next {
        step::Next::Report(outcome) => (outcome, None),
        step::Next::Act(step::Act::Renewal { was, now: version }) => {
            match act::renewal::start(ctx, &planned, &was, &version, now).await {
                Ok(job) => (started(&job, mode), Some(job)),
                Err(error) => (Outcome::Failed(error), None),
            }
        }
        step::Next::Act(step::Act::Swap(order)) => match act::swap(ctx, &planned, order, now).await
        {
            Ok(job) => (started(&job, mode), Some(job)),
            // Someone else is changing the domain: not a failure of ours; the next pass
            // re-reads the domain and decides again.
            Err(error) if error.is_concurrent_modification() => {
                warn!("{error}");
                (Outcome::Deferred(error.to_string()), None)
            }
            Err(error) => (Outcome::Failed(error), None),
        },
    };
    let outcome = match outcome {
        // A request the lease guard did not send, or a state write the fence refused: this
        // replica no longer leads. Not a failure (no hook, no backoff): the leader acts on it.
        Outcome::Failed(error) if error.is_not_leading() => {
            tracing::debug!("{error}");
            Outcome::Deferred("not leading any more: the leader acts on it".to_string())
        }
        other => other,
    };
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

/// The daemon's failure counts, per target, after a pass.
async fn record_backoff(ctx: &Context, acted: &[Acted]) {
    let passes: Vec<(&str, &Outcome)> = acted
        .iter()
        .map(|a| (a.planned.target.domain.as_str(), &a.outcome))
        .collect();
    let stored = crate::record::backoff(&ctx.state, &passes).await;
    if let Err(e) = stored {
        error!("cannot record failure counts: {}", Chain(&e));
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
            user_pool_id: planned.target.user_pool_id.clone(),
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

mod notices;
pub mod verification;
mod window;
