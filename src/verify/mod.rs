//! Verification of one swap: poll Cognito and the edge until both show the new certificate
//! or the window ends, and say how it went.
//!
//! The window ends at the job's recorded deadline (also after a restart), measured on the
//! injected [`Clock`]; the waits between looks are on tokio's clock, so tests pause time and a
//! 60-minute window takes milliseconds. This module only looks: recording the outcome, hooks
//! and rollback are the caller's ([`crate::reconcile`], [`crate::act`]).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::aws::cognito::CognitoDomains;
use crate::clock::Clock;
use crate::config::{Target, VerifySettings};
use crate::human::{fmt_duration, rfc3339};
use crate::model::DomainView;
use crate::serial::Serial;

pub mod probe;

use probe::TlsProbe;

/// A swap to verify (made in this pass, or resumed from the state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyJob {
    /// The target.
    pub target: Target,
    /// The certificate before.
    pub old_arn: Option<String>,
    /// The certificate after.
    pub new_arn: String,
    /// Its serial: what the edge must serve. `None` only for a swap recorded without one.
    pub new_serial: Option<Serial>,
    /// When the swap happened, when known.
    pub swapped_at: Option<DateTime<Utc>>,
    /// The end of the window (kept across restarts).
    pub deadline: DateTime<Utc>,
    /// An in-place renewal of `new_arn` (no swap was made), not a swap.
    pub renewal: bool,
}

/// What a verification looks with.
#[derive(Debug, Clone, Copy)]
pub struct Checker<'a> {
    /// The user pool's Cognito client.
    pub cognito: &'a CognitoDomains,
    /// The edge probe, unless `verify.tls: false`.
    pub probe: Option<&'a TlsProbe>,
    /// `verify:` settings (the interval).
    pub settings: &'a VerifySettings,
    /// What time it is.
    pub clock: &'a dyn Clock,
}

/// Verify `job` until its deadline. `Ok` and `Err` both carry the one-sentence detail.
pub async fn verify_swap(checker: Checker<'_>, job: &VerifyJob) -> Result<String, String> {
    let target = &job.target;
    if checker.probe.is_some() && job.new_serial.is_none() {
        return Err(
            "ACM gave no readable serial for the new certificate; cannot check the edge".into(),
        );
    }
    let window = (job.deadline - checker.clock.now())
        .to_std()
        .unwrap_or_default();
    info!(
        domain = %target.domain,
        until = %rfc3339(&job.deadline),
        window = %fmt_duration(window),
        interval = %fmt_duration(checker.settings.interval),
        edge = %checker.probe.map_or("off".to_string(), |p| p.target(&target.domain)),
        "verifying: waiting for Cognito ACTIVE on the new certificate and the edge serving it"
    );
    let last_note = std::sync::Mutex::new(String::new());
    let verdict = wait_until_verified(window, checker.settings.interval, |attempt| {
        let last_note = &last_note;
        async move {
            let obs = observe(
                checker,
                &target.domain,
                &job.new_arn,
                job.new_serial.as_ref(),
            )
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
                    debug!(domain = %target.domain, attempt, "not yet: {note}");
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
                .and_then(|t| (checker.clock.now() - t).to_std().ok())
                .unwrap_or(after);
            let what = if job.renewal {
                "the renewal was seen"
            } else {
                "the swap"
            };
            Ok(format!(
                "verified {} after {what} ({attempts} checks); {trust}",
                fmt_duration(since)
            ))
        }
        Verdict::TimedOut { attempts, last, .. } => Err(format!(
            "not verified by the deadline {} ({attempts} checks): {}",
            rfc3339(&job.deadline),
            last.pending()
        )),
    }
}

/// One look: what Cognito says about the domain and what the edge serves.
async fn observe(
    checker: Checker<'_>,
    domain: &str,
    arn: &str,
    serial: Option<&Serial>,
) -> Observation {
    let cognito = match checker.cognito.describe(domain).await {
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
    let edge = match (checker.probe, serial) {
        (None, _) => Ok(None),
        (Some(_), None) => Err("no serial to compare".to_string()),
        (Some(probe), Some(want)) => match probe.probe(domain).await {
            Ok(hs) if &hs.serial == want => Ok(Some(hs.trust)),
            Ok(hs) => Err(format!("serves serial {}, want {want}", hs.serial)),
            Err(e) => Err(e.to_string()),
        },
    };
    Observation { cognito, edge }
}

/// One look at Cognito and the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// `Ok` when Cognito reports the domain ACTIVE on the new ARN; else what it reports.
    pub cognito: Result<(), String>,
    /// `Ok(trust)` when the edge serves the new serial (or the TLS check is off: `Ok(None)`);
    /// else what it serves.
    pub edge: Result<Option<Result<(), String>>, String>,
}

impl Observation {
    /// Both checks pass.
    pub fn verified(&self) -> bool {
        self.cognito.is_ok() && self.edge.is_ok()
    }

    /// What is still missing, in one line.
    pub fn pending(&self) -> String {
        let mut parts = Vec::new();
        if let Err(why) = &self.cognito {
            parts.push(format!("Cognito: {why}"));
        }
        if let Err(why) = &self.edge {
            parts.push(format!("edge: {why}"));
        }
        parts.join("; ")
    }
}

/// How a verification ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Both checks passed.
    Verified {
        /// Time from the start of the wait.
        after: Duration,
        /// Looks taken.
        attempts: u32,
        /// The last observation (carries the chain-trust result).
        last: Observation,
    },
    /// The window ran out first.
    TimedOut {
        /// The window.
        window: Duration,
        /// Looks taken.
        attempts: u32,
        /// The last observation: what was still wrong.
        last: Observation,
    },
}

/// Look now, then every `interval`, until `check` reports verified or `window` has passed
/// (a last look happens at the deadline). Uses tokio's clock.
pub async fn wait_until_verified<F, Fut>(
    window: Duration,
    interval: Duration,
    mut check: F,
) -> Verdict
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Observation>,
{
    let start = Instant::now();
    let deadline = start + window;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let last = check(attempts).await;
        if last.verified() {
            return Verdict::Verified {
                after: start.elapsed(),
                attempts,
                last,
            };
        }
        let now = Instant::now();
        if now >= deadline {
            return Verdict::TimedOut {
                window,
                attempts,
                last,
            };
        }
        tokio::time::sleep_until((now + interval).min(deadline)).await;
    }
}

#[cfg(test)]
mod tests;
