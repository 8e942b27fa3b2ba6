//! Acting on a plan: swaps recorded in the state file before and after they happen,
//! verification jobs that outlive a pass, and resuming both after a crash or restart.
//!
//! The order for one swap is: record intent → UpdateUserPoolDomain → record "swapped" with the
//! deadline → verify → record the outcome. A crash anywhere leaves a state the next start
//! resolves by re-reading the domain: an intent whose swap happened becomes a verification with
//! the original deadline; one whose swap did not is dropped and decided afresh. Nothing is
//! swapped twice, and no swap is forgotten.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tracing::{error, info};

use crate::aws::cognito::CognitoDomains;
use crate::config::Target;
use crate::hooks::{Event, HookEvent};
use crate::model::{DomainInfo, DomainView};
use crate::reconcile::{candidate_arn, Context, Outcome, Planned, Verification};
use crate::rollout::{Gate, Gating, Wanting};
use crate::select::Action;
use crate::serial::Serial;
use crate::state::{PendingSwap, Phase, State};

mod resume;
mod verification;

/// A swap whose verification is to be run (new, or resumed from the state file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyJob {
    /// The target.
    pub target: Target,
    /// The certificate before.
    pub old_arn: Option<String>,
    /// The certificate after.
    pub new_arn: String,
    /// Its serial, as ACM wrote it.
    pub new_serial: Option<String>,
    /// When the swap happened, when known.
    pub swapped_at: Option<DateTime<Utc>>,
    /// The end of the window (kept across restarts).
    pub deadline: DateTime<Utc>,
    /// Whether this job was resumed from the state file.
    pub resumed: bool,
}

/// Mark the swap of `job` as being verified in the background (the daemon).
pub fn mark_verifying(results: &mut [(Planned, Outcome)], job: &VerifyJob) {
    for (p, outcome) in results.iter_mut() {
        if let Outcome::Rotated { verification, .. } = outcome {
            if p.target.domain == job.target.domain {
                *verification = Verification::InBackground(crate::human::rfc3339(&job.deadline));
            }
        }
    }
}

/// The canary gates for `planned` against `state`; writes nothing (`status` shows them too).
pub fn gates(
    rollout: &crate::config::Rollout,
    planned: &[Planned],
    state: &State,
    now: DateTime<Utc>,
) -> Gating {
    let wanting: Vec<Wanting> = planned
        .iter()
        .filter(|p| p.decision.action == Action::Rotate)
        .filter(|p| {
            state
                .domains
                .get(&p.target.domain)
                .is_none_or(|r| r.pending.is_none())
        })
        .map(|p| {
            let arn = candidate_arn(&p.decision);
            let key = match p.candidate_serial.as_deref().map(Serial::parse) {
                Some(Ok(serial)) => format!("serial {serial}"),
                _ => format!("arn {arn}"),
            };
            Wanting {
                domain: p.target.domain.clone(),
                arn,
                key,
            }
        })
        .collect();
    crate::rollout::gate(rollout, &wanting, state, now)
}

/// Read the domain again right before writing to it: a decision is only as fresh as the read
/// it was based on. The domain must still exist, belong to the target's user pool, be a custom
/// domain and point at `expected`, so a concurrent change (a person, another rotator) is never
/// overwritten. `Err` says which of these failed.
pub(super) async fn reread_before_write(
    cognito: &CognitoDomains,
    target: &Target,
    expected: Option<&str>,
) -> Result<DomainInfo, String> {
    let fresh = cognito
        .describe(&target.domain)
        .await
        .map_err(|e| format!("cannot re-read the domain: {e}"))?;
    let DomainView::Present(info) = fresh else {
        return Err("the domain disappeared".into());
    };
    if info.user_pool_id != target.user_pool_id {
        return Err(format!(
            "domain {} belongs to user pool {}, not {}",
            target.domain, info.user_pool_id, target.user_pool_id
        ));
    }
    if info.certificate_arn.is_none() {
        return Err("the domain is not a custom domain any more".into());
    }
    if info.certificate_arn.as_deref() != expected {
        return Err(format!(
            "the domain's certificate changed since it was read (now {})",
            info.certificate_arn.as_deref().unwrap_or("none")
        ));
    }
    Ok(info)
}

/// The swap in flight for `domain`, if any.
fn pending_in(state: &State, domain: &str) -> Option<PendingSwap> {
    state.domains.get(domain).and_then(|r| r.pending.clone())
}

/// One target after a pass.
#[derive(Debug)]
struct Acted {
    planned: Planned,
    outcome: Outcome,
    job: Option<VerifyJob>,
}

/// What one pass did.
#[derive(Debug, Clone)]
pub struct PassResult {
    /// Every target with its outcome, in config order.
    pub results: Vec<(Planned, Outcome)>,
    /// Swaps made in this pass, to be verified.
    pub jobs: Vec<VerifyJob>,
}

impl Context {
    /// Plan, then swap where the plan says rotate (unless `dry_run`). Domains with a swap in
    /// flight (in the state file) are left alone; with `rollout:`, canaries go first and the
    /// rest wait for them. With `backoff` (the daemon), a target that failed in earlier passes
    /// is skipped for 1, 2, 4… passes. Swaps are returned as jobs to verify.
    pub async fn pass(&self, now: DateTime<Utc>, dry_run: bool, backoff: bool) -> PassResult {
        let state = self.state.snapshot().await;
        let mut skipped = Vec::new();
        let mut attempt = Vec::new();
        for t in &self.config.targets {
            match state.domains.get(&t.domain) {
                Some(r) if backoff && r.skip_passes > 0 => skipped.push((t, r.clone())),
                _ => attempt.push(t),
            }
        }
        let mut acted: Vec<Acted> = if self.config.rollout.enabled() {
            // Canary groups span accounts: plan everything, decide the gates, then act.
            let planned = self.plan_targets(&attempt, now).await;
            let state = self.state.snapshot().await;
            let gating = self.gating(&planned, &state, now, dry_run).await;
            futures_util::stream::iter(planned)
                .map(|p| {
                    let gate = gating.gates.get(&p.target.domain).cloned();
                    let pending = pending_in(&state, &p.target.domain);
                    self.act(p, gate, pending, now, dry_run)
                })
                .buffered(self.config.concurrency.max(1))
                .collect()
                .await
        } else {
            // Each account goes from plan to swap on its own, without waiting for the others.
            let groups = self.by_account(&attempt);
            let per_account =
                futures_util::future::join_all(groups.iter().map(|(key, group)| async move {
                    let planned = self.plan_account(key, group, now).await;
                    let state = self.state.snapshot().await;
                    futures_util::stream::iter(planned)
                        .map(|p| {
                            let pending = pending_in(&state, &p.target.domain);
                            self.act(p, Some(Gate::Go), pending, now, dry_run)
                        })
                        .buffered(self.config.concurrency.max(1))
                        .collect::<Vec<_>>()
                        .await
                }))
                .await;
            per_account.into_iter().flatten().collect()
        };
        for (t, record) in skipped {
            let last = record
                .last_error
                .clone()
                .unwrap_or_else(|| "(no detail)".to_string());
            acted.push(Acted {
                planned: Planned {
                    target: t.clone(),
                    decision: crate::select::Decision::error(last.clone()),
                    domain: None,
                    candidate_serial: None,
                },
                outcome: Outcome::BackingOff(format!(
                    "skipped after {} failed pass(es) in a row; next try in {} pass(es). Last error: {last}",
                    record.failures, record.skip_passes
                )),
                job: None,
            });
        }
        if backoff && !dry_run {
            self.record_backoff(&acted).await;
        }
        // Back to config order.
        let order: std::collections::HashMap<&str, usize> = self
            .config
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.domain.as_str(), i))
            .collect();
        acted.sort_by_key(|a| order.get(a.planned.target.domain.as_str()).copied());
        let mut results = Vec::with_capacity(acted.len());
        let mut jobs = Vec::new();
        for a in acted {
            if let Some(job) = a.job {
                jobs.push(job);
            }
            results.push((a.planned, a.outcome));
        }
        PassResult { results, jobs }
    }

    /// Canary gates for the targets that want to rotate; new rollouts are recorded (unless
    /// `dry_run`).
    async fn gating(
        &self,
        planned: &[Planned],
        state: &State,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Gating {
        let gating = gates(&self.config.rollout, planned, state, now);
        if !dry_run && !gating.records.is_empty() {
            for (key, record) in &gating.records {
                match record {
                    Some(r) => {
                        info!(rollout = %key, canaries = %r.canaries.keys().cloned().collect::<Vec<_>>().join(", "), "starting a canary rollout: the canaries swap first, the rest wait for their verification")
                    }
                    None => info!(rollout = %key, "canary rollout finished"),
                }
            }
            let records = gating.records.clone();
            let stored = self
                .state
                .update(|s| {
                    for (key, record) in records {
                        match record {
                            Some(r) => s.rollouts.insert(key, r),
                            None => s.rollouts.remove(&key),
                        };
                    }
                })
                .await;
            if let Err(e) = stored {
                error!("cannot record the rollout: {e}");
            }
        }
        gating
    }

    /// Act on one planned target: report, or swap when the plan, the gate and the swap in
    /// flight (`pending`, from the state read after planning) allow.
    async fn act(
        &self,
        p: Planned,
        gate: Option<Gate>,
        pending: Option<PendingSwap>,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Acted {
        let mut job = None;
        let outcome = match (p.decision.action, pending, gate) {
            (Action::Error, _, _) => Outcome::Failed(p.decision.reason.clone()),
            (_, Some(pending), _) => Outcome::Kept(format!(
                "a swap to {} is being verified until {}",
                crate::model::arn_tail(&pending.new_arn),
                crate::human::rfc3339(&pending.deadline)
            )),
            (Action::Keep, None, _) => Outcome::Kept(p.decision.reason.clone()),
            (Action::Rotate, None, Some(Gate::Hold(why))) => Outcome::Held(why),
            (Action::Rotate, None, Some(Gate::Blocked(why))) => Outcome::Blocked(why),
            (Action::Rotate, None, gate) => {
                let canary = if gate == Some(Gate::Canary) {
                    " (canary)"
                } else {
                    ""
                };
                if dry_run {
                    Outcome::WouldRotate(format!("{}{canary}", p.decision.reason))
                } else {
                    match self.swap(&p, now).await {
                        Ok(j) => {
                            let outcome = Outcome::Rotated {
                                from: j.old_arn.clone(),
                                to: j.new_arn.clone(),
                                verification: Verification::NotRequested,
                            };
                            job = Some(j);
                            outcome
                        }
                        Err(why) => Outcome::Failed(why),
                    }
                }
            }
        };
        if let Outcome::Failed(why) = &outcome {
            self.hooks.fire(HookEvent {
                event: Event::Failure,
                domain: p.target.domain.clone(),
                user_pool_id: p.target.user_pool_id.clone(),
                old_arn: p.decision.current_arn.clone(),
                new_arn: p.decision.candidate.as_ref().map(|c| c.arn.clone()),
                reason: why.clone(),
            });
        }
        Acted {
            planned: p,
            outcome,
            job,
        }
    }

    /// Count failures per target and set how many passes to skip next (the daemon).
    async fn record_backoff(&self, acted: &[Acted]) {
        let stored = self
            .state
            .update(|s| {
                for a in acted {
                    let domain = &a.planned.target.domain;
                    match &a.outcome {
                        Outcome::BackingOff(_) => {
                            if let Some(r) = s.domains.get_mut(domain) {
                                r.skip_passes = r.skip_passes.saturating_sub(1);
                            }
                        }
                        Outcome::Failed(why) => {
                            let r = s.domains.entry(domain.clone()).or_default();
                            r.failures = r.failures.saturating_add(1);
                            r.skip_passes = crate::state::DomainRecord::skip_after(r.failures);
                            r.last_error = Some(why.clone());
                        }
                        _ => {
                            if let Some(r) = s.domains.get_mut(domain) {
                                r.failures = 0;
                                r.skip_passes = 0;
                                r.last_error = None;
                            }
                        }
                    }
                }
            })
            .await;
        if let Err(e) = stored {
            error!("cannot record failure counts: {e}");
        }
    }

    /// Re-read the domain, read the new serial, record the intent, swap, record the swap.
    async fn swap(&self, p: &Planned, now: DateTime<Utc>) -> Result<VerifyJob, String> {
        let target = &p.target;
        let to = candidate_arn(&p.decision);
        let cognito = self.cognito_for(target).map_err(|e| e.to_string())?;
        let info = reread_before_write(cognito, target, p.decision.current_arn.as_deref())
            .await
            .map_err(|why| format!("not swapping: {why}; will look again next pass"))?;
        // Read in the plan, in this same pass.
        let serial = p.candidate_serial.clone();
        let window = chrono::Duration::from_std(self.config.verify.window)
            .unwrap_or_else(|_| chrono::Duration::hours(1));
        let mut pending = PendingSwap {
            phase: Phase::Intent,
            user_pool_id: target.user_pool_id.clone(),
            old_arn: p.decision.current_arn.clone(),
            new_arn: to.clone(),
            new_serial: serial.clone(),
            recorded_at: now,
            swapped_at: None,
            deadline: now + window,
        };
        let intent = pending.clone();
        self.state
            .update(|s| s.domains.entry(target.domain.clone()).or_default().pending = Some(intent))
            .await
            .map_err(|e| format!("not swapping: cannot record the intent: {e}"))?;

        if let Err(e) = cognito
            .update_certificate(&target.domain, &target.user_pool_id, &to, &info)
            .await
        {
            if let Err(se) = self.clear_pending(&target.domain).await {
                error!(domain = %target.domain, "cannot clear the intent: {se}");
            }
            return Err(format!("swap failed: {e}"));
        }
        let swapped_at = Utc::now();
        pending.phase = Phase::Swapped;
        pending.swapped_at = Some(swapped_at);
        let record = pending.clone();
        if let Err(e) = self
            .state
            .update(|s| s.domains.entry(target.domain.clone()).or_default().pending = Some(record))
            .await
        {
            // The intent is on disk: a restart still finds and verifies this swap.
            error!(domain = %target.domain, "swapped, but cannot record it: {e}");
        }
        info!(
            domain = %target.domain,
            user_pool_id = %target.user_pool_id,
            from = p.decision.current_arn.as_deref().unwrap_or("none"),
            to = %to,
            "swapped the certificate; CloudFront may take up to an hour to serve it"
        );
        self.metrics
            .set_verification_state(&target.domain, "verifying");
        self.hooks.fire(HookEvent {
            event: Event::Rotate,
            domain: target.domain.clone(),
            user_pool_id: target.user_pool_id.clone(),
            old_arn: pending.old_arn.clone(),
            new_arn: Some(to.clone()),
            reason: p.decision.reason.clone(),
        });
        Ok(VerifyJob {
            target: target.clone(),
            old_arn: pending.old_arn,
            new_arn: to,
            new_serial: serial,
            swapped_at: Some(swapped_at),
            deadline: pending.deadline,
            resumed: false,
        })
    }

    /// `once`: resume what the state file holds, make one pass, and — with `wait` — verify
    /// every swap (new and resumed) concurrently. Returns each target with its outcome.
    pub async fn once(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        wait: bool,
    ) -> Vec<(Planned, Outcome)> {
        let resumed = if dry_run {
            Vec::new()
        } else {
            self.resume().await
        };
        let PassResult { mut results, jobs } = self.pass(now, dry_run, false).await;
        let mut all_jobs = resumed;
        if wait {
            all_jobs.extend(jobs);
        } else {
            for job in &jobs {
                self.record_unverified(job).await;
            }
            // Resumed verifications need --wait too; leave them in the state file.
            all_jobs.clear();
        }
        let mut tasks = tokio::task::JoinSet::new();
        for job in all_jobs {
            let ctx = self.clone();
            tasks.spawn(async move {
                let v = ctx.run_verification(&job).await;
                (job, v)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((job, verified)) = joined else {
                continue;
            };
            let verification = match verified {
                Ok(d) => Verification::Verified(d),
                Err(d) => Verification::Failed(d),
            };
            if let Some((_, outcome)) = results
                .iter_mut()
                .find(|(p, _)| p.target.domain == job.target.domain)
            {
                *outcome = Outcome::Rotated {
                    from: job.old_arn.clone(),
                    to: job.new_arn.clone(),
                    verification,
                };
            }
        }
        if wait {
            // A verification task that died leaves its swap unverified: say so, do not pass.
            for (_, outcome) in &mut results {
                if let Outcome::Rotated { verification, .. } = outcome {
                    if *verification == Verification::NotRequested {
                        *verification =
                            Verification::Failed("the verification task stopped early".into());
                    }
                }
            }
        }
        self.hooks.finish().await;
        results
    }
}
