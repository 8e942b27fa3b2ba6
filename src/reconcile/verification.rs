//! After the swap: each verification with its rollback and record, in its own span, and
//! `once`, which makes one pass and (with `--wait`) waits for its verifications.

use tracing::{error, info, warn, Instrument};

use super::{pass, PassResult};
use crate::act;
use crate::config::OnFailure;
use crate::context::Context;
use crate::error::Chain;
use crate::outcome::{Outcome, Verification};
use crate::planned::Planned;
use crate::step::Mode;
use crate::verify::{self, Checker, VerifyJob};

/// The span a verification task runs in: its log lines carry the domain and user pool even
/// when many verifications interleave.
pub fn verify_span(job: &VerifyJob) -> tracing::Span {
    tracing::info_span!(
        "verify",
        domain = %job.target.domain,
        consumer = %job.target.consumer_id(),
        renewal = job.renewal,
    )
}

/// Verify one swap until its deadline; on failure roll back when configured; record the
/// outcome (state, metrics, hooks); the [`Verification`] carries the one-sentence detail.
pub async fn verify_and_record(ctx: &Context, job: &VerifyJob) -> Verification {
    ctx.metrics
        .set_verification_state(&job.target.domain, "verifying");
    let verdict = match ctx.consumer_for(&job.target) {
        Ok(consumer) => {
            let checker = Checker {
                consumer,
                probe: ctx.probe.as_ref(),
                settings: &ctx.config.verify,
                clock: ctx.clock.as_ref(),
                metrics: Some(&ctx.metrics),
            };
            verify::verify_swap(checker, job).await
        }
        Err(e) => Verification::Failed(e.to_string()),
    };
    let mut rolled_back = false;
    let verdict = match verdict {
        Verification::Failed(why)
            if job.renewal && ctx.config.verify.on_failure == OnFailure::Rollback =>
        {
            warn!("{}", act::renewal::NO_ROLLBACK);
            Verification::Failed(format!("{why}; {}", act::renewal::NO_ROLLBACK))
        }
        Verification::Failed(why) if ctx.config.verify.on_failure == OnFailure::Rollback => {
            let rolled = match act::roll_back(ctx, job, &why).await {
                Ok(done) => {
                    warn!("{done}");
                    rolled_back = true;
                    done
                }
                Err(not) if not.maybe() => {
                    // Not recorded: the rollback stays in flight for a re-read to settle
                    // (the daemon's next pass, or the next start).
                    error!("{}", Chain(&not));
                    return Verification::Failed(format!("{why}; {}", Chain(&not)));
                }
                Err(not) => {
                    error!("{}", Chain(&not));
                    Chain(&not).to_string()
                }
            };
            Verification::Failed(format!("{why}; {rolled}"))
        }
        other => other,
    };
    if let (Verification::Verified(_), Some(old)) = (&verdict, &job.old_arn) {
        release(ctx, job, old, &job.new_arn).await;
    }
    act::record_outcome_of(ctx, job, verdict, rolled_back).await
}

/// After a verified swap, let the replaced certificate go where the consumer still holds it
/// (a listener's SNI list). A failure is logged; the certificate stays served beside the new
/// one until a person (or a later release) removes it.
pub(crate) async fn release(ctx: &Context, job: &VerifyJob, old: &str, new: &str) {
    let Ok(api) = ctx.consumer_for(&job.target) else {
        return;
    };
    match api.release(old, new).await {
        Ok(true) => {
            info!(certificate = %old, "took the replaced certificate off the listener's SNI list")
        }
        Ok(false) => {}
        Err(e) => {
            error!(certificate = %old, "cannot take the replaced certificate off the listener's SNI list; it is still served beside the new one: {e}")
        }
    }
}

/// Verify `jobs` side by side (work of the pass's lease epoch, like the pass itself), each
/// outcome written into its target's row of `results`.
async fn verify_all(ctx: &Context, jobs: Vec<VerifyJob>, results: &mut [(Planned, Outcome)]) {
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        let ctx = ctx.clone();
        let span = verify_span(&job);
        tasks.spawn(crate::lease::guard::carry(
            async move {
                let verified = verify_and_record(&ctx, &job).await;
                (job, verified)
            }
            .instrument(span),
        ));
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((job, verification)) = joined else {
            continue;
        };
        if let Some((_, outcome)) = results
            .iter_mut()
            .find(|(p, _)| p.target.domain == job.target.domain)
        {
            *outcome = job.outcome(verification);
        }
    }
}

/// With `--wait`: a verification task that died leaves its swap unverified: say so, do not
/// pass.
fn unfinished_fail(results: &mut [(Planned, Outcome)]) {
    for (_, outcome) in results {
        if let Outcome::Swapped { verification, .. } | Outcome::Renewed { verification, .. } =
            outcome
        {
            if *verification == Verification::NotRequested {
                *verification = Verification::Failed("the verification task stopped early".into());
            }
        }
    }
}

/// How long `once` waits for queued notifications (each retried for up to 15 s) at its end.
const NOTICES_GRACE: std::time::Duration = std::time::Duration::from_secs(120);

/// `once`: settle what the state holds, make one pass, and — with `wait` — verify every swap
/// (new and resumed) concurrently. Returns each target with its outcome.
pub async fn once(ctx: &Context, mode: Mode, wait: bool) -> Vec<(Planned, Outcome)> {
    let resumed = if mode.writes() {
        crate::resume::resume(ctx).await
    } else {
        Vec::new()
    };
    let PassResult {
        mut results, jobs, ..
    } = pass(ctx, mode, ctx.clock.now()).await;
    let mut to_verify = Vec::new();
    if wait {
        to_verify.extend(resumed);
        to_verify.extend(jobs);
    } else {
        for job in &jobs {
            act::record_finished(
                ctx,
                job,
                crate::state::SwapResult::Unverified,
                "not verified (run without --wait)",
                None,
            )
            .await;
        }
        // Resumed verifications need --wait too; they stay in the state.
    }
    verify_all(ctx, to_verify, &mut results).await;
    if wait {
        unfinished_fail(&mut results);
    }
    ctx.hooks.finish().await;
    // Queued notifications are sent (with their retries) before `once` exits.
    ctx.notices.finish(NOTICES_GRACE).await;
    results
}
