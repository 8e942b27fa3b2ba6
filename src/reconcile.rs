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
use tracing::{error, info};

use crate::act;
use crate::config::Target;
use crate::context::Context;
use crate::error::{Chain, TargetError};
use crate::outcome::Outcome;
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
    let (mut acted, attempt) = backing_off(ctx, &state, mode);
    // A dry run swaps nothing, so it reads no serial unless a rollout groups by serial.
    let serials = mode.writes() || ctx.config.rollout.enabled();
    if ctx.config.rollout.enabled() {
        acted.extend(gated(ctx, &attempt, serials, mode, now).await);
    } else {
        acted.extend(per_account(ctx, &attempt, serials, mode, now).await);
    }
    if mode.writes() {
        remember_versions(ctx, &acted, &state).await;
        if let Some(settings) = &ctx.config.retire {
            crate::retire::review::review(ctx, &state, settings, now, true).await;
        }
    }
    if mode.counts_failures() {
        record_backoff(ctx, &acted).await;
    }
    finish(ctx, acted)
}

/// The targets backing off after failures (their outcome already known), and the rest.
fn backing_off<'a>(ctx: &'a Context, state: &State, mode: Mode) -> (Vec<Acted>, Vec<&'a Target>) {
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
    (acted, attempt)
}

/// With canary rollouts: every target planned first (the gates need them all), then each
/// acted on behind its gate.
async fn gated(
    ctx: &Context,
    attempt: &[&Target],
    serials: bool,
    mode: Mode,
    now: DateTime<Utc>,
) -> Vec<Acted> {
    let planned = plan::for_targets(ctx, attempt, serials, now).await;
    let state = match ctx.state.snapshot().await {
        Ok(state) => state,
        Err(e) => return unacted(planned, e),
    };
    let gating = gating(ctx, &planned, &state, mode, now).await;
    futures_util::stream::iter(planned)
        .map(|p| {
            let gate = gating.gates.get(&p.target.domain).cloned();
            target::act_on(ctx, p, &state, gate, mode, now)
        })
        .buffered(ctx.config.concurrency.max(1))
        .collect()
        .await
}

/// Without rollouts: each account planned and acted on side by side, so one account's
/// outage holds up no other.
async fn per_account(
    ctx: &Context,
    attempt: &[&Target],
    serials: bool,
    mode: Mode,
    now: DateTime<Utc>,
) -> Vec<Acted> {
    let groups = plan::by_account(attempt);
    let concurrency = ctx.config.concurrency.max(1);
    let per_account =
        futures_util::future::join_all(groups.iter().map(|(key, group)| async move {
            let planned = plan::account(ctx, key, group, serials, now).await;
            match ctx.state.snapshot().await {
                Ok(state) => {
                    futures_util::stream::iter(planned)
                        .map(|p| target::act_on(ctx, p, &state, Some(Gate::Go), mode, now))
                        .buffered(concurrency)
                        .collect::<Vec<_>>()
                        .await
                }
                Err(e) => unacted(planned, e),
            }
        }))
        .await;
    per_account.into_iter().flatten().collect()
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

mod notices;
mod target;
pub mod verification;
mod window;
