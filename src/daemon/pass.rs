//! One tick's work for the [`Daemon`]: a standby's report, or a pass that acts, hands its
//! swaps to background verification and reports.

use std::sync::atomic::Ordering;

use tracing::info;

use super::event_loop::Tick;
use super::schedule::next_tick;
use super::Daemon;
use crate::error::Chain;
use crate::step::Mode;

impl Daemon {
    /// With DynamoDB state: `true` when this replica stands by (it then only reports, making no
    /// ACM or Cognito call). A replica that has just become the leader first resumes what the
    /// previous leader left in flight, with the original deadlines.
    /// `leading` is the epoch this replica leads at, read once for the tick.
    pub(super) async fn standing_by(&self, leading: Option<u64>) -> bool {
        let ctx = &self.ctx;
        let Some(lease) = &ctx.lease else {
            return false;
        };
        match leading {
            Some(epoch) => {
                if self.resumed_epoch.swap(epoch, Ordering::SeqCst) != epoch {
                    for job in crate::resume::resume(ctx).await {
                        self.verifications.spawn(ctx, job);
                    }
                }
                false
            }
            None => {
                let who = crate::lease::hold::who_leads(
                    &lease.current().await,
                    ctx.clock.now().timestamp_millis(),
                );
                let status = format!("standby: leader {who}");
                info!("{status}");
                self.notifier.status(&status);
                // A healthy standby is healthy: its loop runs.
                self.health.pass_finished();
                true
            }
        }
    }

    /// One scheduled pass: act, hand swaps to background verification, report.
    pub(super) async fn pass(&self, tick: &Tick) {
        let ctx = &self.ctx;
        let started = tokio::time::Instant::now();
        let trigger = match tick {
            Tick::Schedule | Tick::Due => String::new(),
            Tick::Events(events) => {
                let summary = crate::events::summary(events);
                info!("pass triggered by {summary}");
                format!(" (triggered by {summary})")
            }
        };
        // An event may bring the certificate a failing target waits for: it tries them all.
        let mode = match tick {
            Tick::Schedule | Tick::Due => Mode::Daemon,
            Tick::Events(_) => Mode::Event,
        };
        let result = crate::reconcile::pass(ctx, mode, ctx.clock.now()).await;
        let failing = crate::report::log_summaries(&result.results);
        for (planned, outcome) in &result.results {
            ctx.metrics.set_target_failing(
                &planned.target.domain,
                matches!(outcome, crate::outcome::Outcome::Failed(_)),
            );
        }
        for job in result.jobs {
            self.verifications.spawn(ctx, job);
        }
        self.opening
            .wake_at(result.wake_at, ctx.clock.now(), ctx.config.targets.len());
        let now = ctx.clock.now();
        ctx.metrics
            .pass_duration
            .observe(started.elapsed().as_secs_f64());
        ctx.metrics.last_pass.set(now.timestamp() as f64);
        self.health.pass_finished();
        let snapshot = ctx.state.snapshot().await;
        let in_flight = in_flight(ctx, &snapshot);
        self.settle_orphans(&in_flight).await;
        let verifying = match &snapshot {
            Ok(_) => in_flight.len().to_string(),
            Err(e) => format!("? (state unreadable: {})", Chain(e)),
        };
        self.edge.start(ctx, &result.results, in_flight);
        let next = next_tick(&ctx.config.schedule, now)
            .map_or_else(|| "none".to_string(), |t| t.format("%H:%M:%SZ").to_string());
        let role = if ctx.lease.is_some() { "leader: " } else { "" };
        let status = format!(
            "{role}{} domains, {verifying} verifying, {failing} failing, next pass {next}",
            ctx.config.targets.len()
        );
        info!("pass finished{trigger}: {status}");
        self.notifier.status(&status);
    }

    /// Swaps the state holds in flight that no verification of this process works on (an
    /// intent kept because its write may have happened, a verification that ended without
    /// its record) are settled as a new leader settles them: re-read, then verified.
    async fn settle_orphans(&self, in_flight: &std::collections::HashSet<String>) {
        let orphans: Vec<&String> = in_flight
            .iter()
            .filter(|d| !self.verifications.running(d))
            .collect();
        if orphans.is_empty() {
            return;
        }
        info!(
            domains = orphans.len(),
            "settling swaps in flight that nothing works on"
        );
        let ctx = &self.ctx;
        let wanted = |d: &str| orphans.iter().any(|o| o.as_str() == d);
        for job in crate::resume::resume_where(ctx, wanted).await {
            self.verifications.spawn(ctx, job);
        }
    }
}

/// The domains with a swap in flight; every domain when the state cannot be read (no
/// domain's match is judged while its verification may be running).
fn in_flight(
    ctx: &crate::context::Context,
    snapshot: &Result<crate::state::State, crate::state::StateError>,
) -> std::collections::HashSet<String> {
    match snapshot {
        Ok(s) => s
            .domains
            .iter()
            .filter(|(_, r)| r.pending.is_some())
            .map(|(d, _)| d.clone())
            .collect(),
        Err(_) => ctx
            .config
            .targets
            .iter()
            .map(|t| t.domain.clone())
            .collect(),
    }
}
