//! Verifying a swap until its deadline, recording the outcome, and rolling back
//! (`verify.on_failure: rollback`) when it cannot be verified.

use chrono::Utc;
use tracing::{error, info, warn};

use super::VerifyJob;
use crate::config::OnFailure;
use crate::hooks::{Event, HookEvent};
use crate::human::fmt_duration;
use crate::metrics::ResultLabels;
use crate::model::DomainView;
use crate::reconcile::Context;
use crate::serial::Serial;
use crate::state::{FinishedSwap, SwapResult};
use crate::verify::{self, Observation, Verdict};

impl Context {
    /// Record a swap that will not be verified (`once` without `--wait`).
    pub async fn record_unverified(&self, job: &VerifyJob) {
        self.finish(
            job,
            SwapResult::Unverified,
            "not verified (run without --wait)",
        )
        .await;
    }

    async fn finish(&self, job: &VerifyJob, result: SwapResult, detail: &str) {
        let finished = FinishedSwap {
            old_arn: job.old_arn.clone(),
            new_arn: job.new_arn.clone(),
            swapped_at: job.swapped_at,
            finished_at: Utc::now(),
            result,
            detail: detail.to_string(),
        };
        let recorded = self
            .state
            .update(|s| {
                let r = s.domains.entry(job.target.domain.clone()).or_default();
                r.pending = None;
                r.last = Some(finished);
            })
            .await;
        if let Err(e) = recorded {
            error!(domain = %job.target.domain, "cannot record the outcome: {e}");
        }
    }

    /// Verify one swap until its deadline, then record the outcome (state, metrics, hooks).
    /// `Ok` and `Err` both carry the one-sentence detail.
    pub async fn run_verification(&self, job: &VerifyJob) -> Result<String, String> {
        let mut verified = self.verify_until_deadline(job).await;
        if let Err(why) = &verified {
            if self.config.verify.on_failure == OnFailure::Rollback {
                let rolled = match self.roll_back(job).await {
                    Ok(done) => {
                        warn!(domain = %job.target.domain, "{done}");
                        done
                    }
                    Err(not) => {
                        error!(domain = %job.target.domain, "{not}");
                        not
                    }
                };
                verified = Err(format!("{why}; {rolled}"));
            }
        }
        let (result, label, event, detail) = match &verified {
            Ok(d) => (SwapResult::Verified, "verified", Event::Verified, d.clone()),
            Err(d) => (SwapResult::Failed, "failed", Event::Failure, d.clone()),
        };
        self.finish(job, result, &detail).await;
        self.metrics
            .rotations
            .get_or_create(&ResultLabels {
                domain: job.target.domain.clone(),
                result: label.to_string(),
            })
            .inc();
        self.metrics
            .set_verification_state(&job.target.domain, label);
        self.hooks.fire(HookEvent {
            event,
            domain: job.target.domain.clone(),
            user_pool_id: job.target.user_pool_id.clone(),
            old_arn: job.old_arn.clone(),
            new_arn: Some(job.new_arn.clone()),
            reason: detail,
        });
        verified
    }

    /// `verify.on_failure: rollback`: put the previous certificate back when it is still
    /// eligible and the domain still points at the new one, and denylist the new one for this
    /// domain. `Ok` says what was done, `Err` why nothing was.
    async fn roll_back(&self, job: &VerifyJob) -> Result<String, String> {
        let target = &job.target;
        let Some(old) = job.old_arn.clone() else {
            return Err("not rolled back: there is no previous certificate".into());
        };
        let account = self.account_for(target).map_err(|e| e.to_string())?;
        let cognito = self.cognito_for(target).map_err(|e| e.to_string())?;
        let mut cert = match account.acm.describe(&old).await {
            Ok(Some(d)) => d.certificate,
            Ok(None) => {
                return Err(format!(
                    "not rolled back: the previous certificate {} is gone from ACM",
                    crate::model::arn_tail(&old)
                ))
            }
            Err(e) => {
                return Err(format!(
                    "not rolled back: cannot read the previous certificate: {e}"
                ))
            }
        };
        let no_denied = std::collections::BTreeMap::new();
        // The previous certificate was usually replaced *because* it was inside min_validity:
        // for going back it only has to be usable now (issued, valid, covering the domain,
        // served by CloudFront, tagged as required).
        let req = crate::select::Requirements {
            domain: &target.domain,
            min_validity: std::time::Duration::ZERO,
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
        if let Err(why) = crate::select::eligibility(&req, &cert, Utc::now()) {
            return Err(format!(
                "not rolled back: the previous certificate {} is no longer eligible ({why}); the new one stays",
                crate::model::arn_tail(&old)
            ));
        }
        let info = super::reread_before_write(cognito, target, Some(job.new_arn.as_str()))
            .await
            .map_err(|why| format!("not rolled back: {why}; leaving it alone"))?;
        cognito
            .update_certificate(&target.domain, &target.user_pool_id, &old, &info)
            .await
            .map_err(|e| format!("rollback failed: {e}"))?;
        let denied = crate::state::Denied {
            since: Utc::now(),
            reason: "its swap failed verification and was rolled back".into(),
        };
        let new_arn = job.new_arn.clone();
        let stored = self
            .state
            .update(|s| {
                s.domains
                    .entry(target.domain.clone())
                    .or_default()
                    .denylist
                    .insert(new_arn, denied);
            })
            .await;
        let listed = match stored {
            Ok(()) => format!(
                "{} is denylisted for this domain until `cognito-cert-rotator forget {}`",
                crate::model::arn_tail(&job.new_arn),
                target.domain
            ),
            Err(e) => format!("but cannot record the denylist ({e}): the next pass may swap again"),
        };
        self.metrics
            .rotations
            .get_or_create(&ResultLabels {
                domain: target.domain.clone(),
                result: "rolled_back".to_string(),
            })
            .inc();
        Ok(format!(
            "rolled back to the previous certificate {}; {listed}",
            crate::model::arn_tail(&old)
        ))
    }

    async fn verify_until_deadline(&self, job: &VerifyJob) -> Result<String, String> {
        let settings = &self.config.verify;
        let target = &job.target;
        let Ok(cognito) = self.cognito_for(target) else {
            return Err(format!("no Cognito client for {}", target.region));
        };
        let serial = job
            .new_serial
            .as_deref()
            .and_then(|s| Serial::parse(s).ok());
        if settings.tls && serial.is_none() {
            return Err(
                "ACM gave no readable serial for the new certificate; cannot check the edge".into(),
            );
        }
        // The window ends at the recorded deadline, also after a restart.
        let window = (job.deadline - Utc::now()).to_std().unwrap_or_default();
        self.metrics
            .set_verification_state(&target.domain, "verifying");
        info!(
            domain = %target.domain,
            until = %crate::human::rfc3339(&job.deadline),
            window = %fmt_duration(window),
            interval = %fmt_duration(settings.interval),
            edge = %self.probe.as_ref().map_or("off".to_string(), |p| p.target(&target.domain)),
            "verifying: waiting for Cognito ACTIVE on the new certificate and the edge serving it"
        );
        let last_note = std::sync::Mutex::new(String::new());
        let verdict = verify::wait_until_verified(window, settings.interval, |attempt| {
            let serial = serial.clone();
            let last_note = &last_note;
            async move {
                let obs = self
                    .observe(cognito, &target.domain, &job.new_arn, serial.as_ref())
                    .await;
                if !obs.verified() {
                    let note = obs.pending();
                    let changed = last_note
                        .lock()
                        .map(|mut last| {
                            let changed = *last != note;
                            last.clone_from(&note);
                            changed
                        })
                        .unwrap_or(true);
                    if changed {
                        info!(domain = %target.domain, attempt, "not yet: {note}");
                    } else {
                        tracing::debug!(domain = %target.domain, attempt, "not yet: {note}");
                    }
                }
                obs
            }
        })
        .await;
        match verdict {
            Verdict::Verified {
                after,
                attempts,
                last,
            } => {
                let trust = match &last.edge {
                    Ok(Some(Ok(()))) => "chain trusted".to_string(),
                    Ok(Some(Err(why))) => format!("chain NOT trusted: {why}"),
                    _ => "TLS check off".to_string(),
                };
                if let Ok(Some(Err(why))) = &last.edge {
                    warn!(domain = %target.domain, "the edge serves the new certificate but its chain is not trusted here: {why}");
                }
                let since = job
                    .swapped_at
                    .and_then(|t| (Utc::now() - t).to_std().ok())
                    .unwrap_or(after);
                Ok(format!(
                    "verified {} after the swap ({attempts} checks); {trust}",
                    fmt_duration(since)
                ))
            }
            Verdict::TimedOut { attempts, last, .. } => Err(format!(
                "not verified by the deadline {} ({attempts} checks): {}",
                crate::human::rfc3339(&job.deadline),
                last.pending()
            )),
        }
    }

    async fn observe(
        &self,
        cognito: &crate::aws::cognito::CognitoDomains,
        domain: &str,
        arn: &str,
        serial: Option<&Serial>,
    ) -> Observation {
        let cognito_state = match cognito.describe(domain).await {
            Ok(DomainView::Present(info)) => {
                if info.certificate_arn.as_deref() != Some(arn) {
                    Err(format!(
                        "points at {}, not the new certificate",
                        info.certificate_arn.as_deref().unwrap_or("no certificate")
                    ))
                } else if info.status != "ACTIVE" {
                    Err(format!("status {}", info.status))
                } else {
                    Ok(())
                }
            }
            Ok(DomainView::Missing) => Err("the domain is gone".to_string()),
            Err(e) => Err(e.to_string()),
        };
        let edge = match (&self.probe, serial) {
            (None, _) => Ok(None),
            (Some(_), None) => Err("no serial to compare".to_string()),
            (Some(probe), Some(want)) => match probe.probe(domain).await {
                Ok(hs) if &hs.serial == want => Ok(Some(hs.trust)),
                Ok(hs) => Err(format!("serves serial {}, want {want}", hs.serial)),
                Err(e) => Err(e.to_string()),
            },
        };
        Observation {
            cognito: cognito_state,
            edge,
        }
    }
}
