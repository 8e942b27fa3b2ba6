//! Resuming after a crash or restart: what the state file says is in flight.

use tracing::{error, info, warn};

use super::VerifyJob;
use crate::model::DomainView;
use crate::reconcile::Context;
use crate::state::Phase;

impl Context {
    /// Resolve what the state file says is in flight, for the configured targets: intents are
    /// checked against the domain; swaps become verification jobs with their original
    /// deadlines. Domains no longer configured are left untouched in the file.
    pub async fn resume(&self) -> Vec<VerifyJob> {
        let snapshot = self.state.snapshot().await;
        let mut jobs = Vec::new();
        for target in &self.config.targets {
            let Some(pending) = snapshot
                .domains
                .get(&target.domain)
                .and_then(|r| r.pending.clone())
            else {
                continue;
            };
            let job = VerifyJob {
                target: target.clone(),
                old_arn: pending.old_arn.clone(),
                new_arn: pending.new_arn.clone(),
                new_serial: pending.new_serial.clone(),
                swapped_at: pending.swapped_at,
                deadline: pending.deadline,
                resumed: true,
            };
            if pending.phase == Phase::Swapped {
                info!(domain = %target.domain, to = %pending.new_arn, deadline = %crate::human::rfc3339(&pending.deadline), "resuming the verification of an earlier swap");
                jobs.push(job);
                continue;
            }
            // An intent: the process stopped between recording it and recording the swap.
            let now_on = match self.cognito_for(target) {
                Ok(c) => c.describe(&target.domain).await,
                Err(e) => Err(e),
            };
            match now_on {
                Ok(DomainView::Present(info))
                    if info.certificate_arn.as_deref() == Some(pending.new_arn.as_str()) =>
                {
                    info!(domain = %target.domain, to = %pending.new_arn, "an interrupted swap did happen; verifying it with its original deadline");
                    let recorded = self
                        .state
                        .update(|s| {
                            if let Some(p) = s
                                .domains
                                .entry(target.domain.clone())
                                .or_default()
                                .pending
                                .as_mut()
                            {
                                p.phase = Phase::Swapped;
                            }
                        })
                        .await;
                    if let Err(e) = recorded {
                        error!(domain = %target.domain, "cannot record the swap: {e}");
                    }
                    jobs.push(job);
                }
                Ok(_) => {
                    info!(domain = %target.domain, "an interrupted swap never happened; dropping its intent and deciding afresh");
                    if let Err(e) = self.clear_pending(&target.domain).await {
                        error!(domain = %target.domain, "cannot update the state file: {e}");
                    }
                }
                Err(e) => {
                    // Unknown: keep the intent (so nothing swaps on top of it) and retry later.
                    warn!(domain = %target.domain, "cannot check an interrupted swap yet: {e}");
                }
            }
        }
        jobs
    }

    pub(super) async fn clear_pending(&self, domain: &str) -> Result<(), crate::state::StateError> {
        self.state
            .update(|s| {
                if let Some(r) = s.domains.get_mut(domain) {
                    r.pending = None;
                }
            })
            .await
    }
}
