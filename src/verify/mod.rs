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

use crate::aws::consumer::ConsumerApi;
use crate::aws::AwsError;
use crate::clock::Clock;
use crate::config::{Target, VerifySettings};
use crate::format::{fmt_duration, rfc3339};
use crate::model::{DomainStatus, DomainView};
use crate::outcome::{Outcome, Verification};
use crate::serial::Serial;

pub mod edge;
pub mod handshake;
pub mod probe;

use edge::Split;
use probe::{ProbeError, TlsProbe, Trust};

/// A swap to verify (made in this pass, or resumed from the state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyJob {
    /// The configured target: its domain, user pool and settings.
    pub target: Target,
    /// The ARN the domain pointed at before (`None`: it had none).
    pub old_arn: Option<String>,
    /// The ARN the domain is moved onto.
    pub new_arn: String,
    /// Its serial: what the edge must serve. `None` only for a swap recorded without one.
    pub new_serial: Option<Serial>,
    /// When the swap happened, when known.
    pub swapped_at: Option<DateTime<Utc>>,
    /// The end of the window (kept across restarts).
    pub deadline: DateTime<Utc>,
    /// An in-place renewal of `new_arn` (no swap was made), not a swap.
    pub renewal: bool,
    /// When the two certificates expire, for the notifications.
    pub expiry: crate::state::records::Expiry,
}

impl VerifyJob {
    /// The target's outcome once this job's verification ended with `verification`.
    pub fn outcome(&self, verification: Verification) -> Outcome {
        if self.renewal {
            Outcome::Renewed {
                arn: self.new_arn.clone(),
                verification,
            }
        } else {
            Outcome::Swapped {
                from: self.old_arn.clone(),
                to: self.new_arn.clone(),
                verification,
            }
        }
    }
}

/// What a verification looks with.
#[derive(Debug, Clone, Copy)]
pub struct Checker<'a> {
    /// The consumer's service (Cognito, CloudFront, API Gateway), bound to the target.
    pub consumer: ConsumerApi<'a>,
    /// The edge probe, unless `verify.tls: false`.
    pub probe: Option<&'a TlsProbe>,
    /// `verify:` settings (the interval).
    pub settings: &'a VerifySettings,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// Where each look's edge split is exported (`edge_addresses`), when given.
    pub metrics: Option<&'a crate::metrics::Metrics>,
}

/// Verify `job` until its deadline: [`Verification::Verified`] or [`Verification::Failed`],
/// each with its one-sentence detail.
pub async fn verify_swap(checker: Checker<'_>, job: &VerifyJob) -> Verification {
    let target = &job.target;
    if checker.probe.is_some() && job.new_serial.is_none() {
        return Verification::Failed(
            "ACM gave no readable serial for the new certificate; cannot check the edge".into(),
        );
    }
    let window = (job.deadline - checker.clock.now())
        .to_std()
        .unwrap_or_default();
    info!(until = %rfc3339(&job.deadline),
        window = %fmt_duration(window),
        interval = %fmt_duration(checker.settings.interval),
        edge = %checker.probe.map_or("off".to_string(), |p| p.target(&target.domain)),
        "verifying: waiting for {} to report the new certificate live and the edge serving it",
        checker.consumer.service_name()
    );
    let last_note = std::sync::Mutex::new(String::new());
    let verdict = wait_until_verified(window, checker.settings.interval, |attempt| {
        let last_note = &last_note;
        async move {
            let look = look_once(
                checker,
                &target.domain,
                &job.new_arn,
                job.new_serial.as_ref(),
            )
            .await;
            if !look.verified() {
                say_not_yet(last_note, attempt, look.pending());
            }
            look
        }
    })
    .await;
    match verdict {
        Waited::Verified {
            after,
            attempts,
            last,
        } => Verification::Verified(verified_detail(checker, job, after, attempts, &last)),
        Waited::TimedOut { attempts, last, .. } => Verification::Failed(format!(
            "not verified by the deadline {} ({attempts} checks): {}",
            rfc3339(&job.deadline),
            last.pending()
        )),
    }
}

/// Say what is still missing: at info when it changed since the last look, else at debug.
fn say_not_yet(last_note: &std::sync::Mutex<String>, attempt: u32, note: String) {
    let changed = last_note
        .lock()
        .map(|mut last| {
            let changed = *last != note;
            last.clone_from(&note);
            changed
        })
        .unwrap_or(true);
    if changed {
        info!(attempt, "not yet: {note}");
    } else {
        debug!(attempt, "not yet: {note}");
    }
}

/// The sentence of a verified swap or renewal: how long after, in how many checks, and
/// whether the chain is trusted (warned about when it is not).
fn verified_detail(
    checker: Checker<'_>,
    job: &VerifyJob,
    after: Duration,
    attempts: u32,
    last: &Look,
) -> String {
    let trust = match &last.edge {
        Ok(Some(Trust::Trusted)) => "chain trusted".to_string(),
        Ok(Some(Trust::Untrusted(why))) => format!("chain NOT trusted: {why}"),
        _ => "TLS check off".to_string(),
    };
    if let Ok(Some(Trust::Untrusted(why))) = &last.edge {
        warn!("the edge serves the new certificate but its chain is not trusted here: {why}");
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
    // With several edge addresses, how many served it.
    let addresses = match &last.split {
        Some(split) if split.answering() + split.unreachable.len() > 1 => {
            format!("; {}", split.summary())
        }
        _ => String::new(),
    };
    format!(
        "verified {} after {what} ({attempts} checks); {trust}{addresses}",
        fmt_duration(since)
    )
}

/// One look: what the consumer's service says about the domain and what the edge serves.
async fn look_once(checker: Checker<'_>, domain: &str, arn: &str, serial: Option<&Serial>) -> Look {
    let service = match checker.consumer.describe().await {
        Ok(DomainView::Present(info)) => {
            if info.certificate_arn.as_deref() != Some(arn) {
                Err(NotYet::PointsElsewhere(info.certificate_arn))
            } else if info.status != DomainStatus::Active {
                Err(NotYet::Status(info.status))
            } else {
                Ok(())
            }
        }
        Ok(DomainView::Missing) => Err(NotYet::Gone),
        Err(e) => Err(NotYet::Aws(e)),
    };
    let (edge, split) = match (checker.probe, serial) {
        (None, _) => (Ok(None), None),
        (Some(_), None) => (Err(NotYet::NoSerial), None),
        (Some(probe), Some(want)) => match probe.probe_all(domain).await {
            Ok(sample) => edge_verdict(&sample, want),
            Err(e) => (Err(NotYet::Probe(e)), None),
        },
    };
    if let (Some(metrics), Some(split)) = (checker.metrics, &split) {
        metrics.set_edge_addresses(domain, split.counts());
    }
    Look {
        service_name: checker.consumer.service_name(),
        service,
        edge,
        split,
    }
}

/// The edge's verdict from one handshake per address: verified only when every address that
/// answers serves `want` (one that cannot be reached at all is reported, not counted).
pub fn edge_verdict(
    sample: &probe::EdgeSample,
    want: &Serial,
) -> (Result<Option<Trust>, NotYet>, Option<Split>) {
    let split = Split::of(sample, want);
    let verdict = match sample.as_slice() {
        // One address: what it served, as it was said before there were several.
        [(_, Ok(hs))] if hs.serial == *want => Ok(Some(hs.trust.clone())),
        [(_, Ok(hs))] => Err(NotYet::Serves {
            served: hs.serial.clone(),
            want: want.clone(),
        }),
        [(_, Err(e))] => Err(NotYet::Probe(e.clone())),
        _ if split.verified() => Ok(split.trust.clone()),
        _ if split.answering() == 0 => match split.unreachable.first() {
            Some((_, e)) => Err(NotYet::Probe(e.clone())),
            None => Err(NotYet::Edges(split.clone())),
        },
        _ => Err(NotYet::Edges(split.clone())),
    };
    (verdict, Some(split))
}

/// One look at the consumer's service and the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    /// Which service was asked: `Cognito`, `CloudFront`, `API Gateway`.
    pub service_name: &'static str,
    /// `Ok` when the service reports the domain live (Cognito `ACTIVE`, CloudFront
    /// `Deployed`, API Gateway `AVAILABLE`) on the new ARN; else what it reports.
    pub service: Result<(), NotYet>,
    /// `Ok(Some(trust))` when the edge serves the new serial, `Ok(None)` with the TLS check
    /// off; else what it serves.
    pub edge: Result<Option<Trust>, NotYet>,
    /// Where each edge address stands, when the edge was probed.
    pub split: Option<Split>,
}

/// Why one look does not verify yet: what Cognito or the edge shows instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotYet {
    /// The domain is on another certificate.
    #[error("points at {}, not the new certificate", .0.as_deref().unwrap_or("no certificate"))]
    PointsElsewhere(Option<String>),
    /// On the new certificate, but not ACTIVE yet.
    #[error("status {0}")]
    Status(DomainStatus),
    /// Cognito no longer has the domain.
    #[error("the domain is gone")]
    Gone,
    /// Cognito could not be asked.
    #[error("{0}")]
    Aws(AwsError),
    /// There is no serial to compare the edge's with.
    #[error("no serial to compare")]
    NoSerial,
    /// The edge serves another certificate.
    #[error("serves serial {served}, want {want}")]
    Serves {
        /// What it serves.
        served: Serial,
        /// The new certificate's.
        want: Serial,
    },
    /// No handshake.
    #[error("{0}")]
    Probe(ProbeError),
    /// Some edge addresses serve it, some not yet: `2/3 edge addresses serve the new
    /// certificate (ADDRESS serves serial …)`.
    #[error("{}", .0.summary())]
    Edges(Split),
}

impl Look {
    /// Both checks pass.
    pub fn verified(&self) -> bool {
        self.service.is_ok() && self.edge.is_ok()
    }

    /// What is still missing, in one line.
    pub fn pending(&self) -> String {
        let mut parts = Vec::new();
        if let Err(why) = &self.service {
            parts.push(format!("{}: {why}", self.service_name));
        }
        if let Err(why) = &self.edge {
            parts.push(format!("edge: {why}"));
        }
        parts.join("; ")
    }
}

/// How a verification ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// Both checks passed.
    Verified {
        /// Time from the start of the wait.
        after: Duration,
        /// How many looks it took, the first included.
        attempts: u32,
        /// The last observation (carries the chain-trust result).
        last: Look,
    },
    /// The window ran out first.
    TimedOut {
        /// The window that ran out.
        window: Duration,
        /// How many looks it took, the first included.
        attempts: u32,
        /// The last observation: what was still wrong.
        last: Look,
    },
}

/// Look now, then every `interval`, until `check` reports verified or `window` has passed
/// (a last look happens at the deadline). Uses tokio's clock.
pub async fn wait_until_verified<F, Fut>(
    window: Duration,
    interval: Duration,
    mut check: F,
) -> Waited
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Look>,
{
    let start = Instant::now();
    // A window past tokio's clock (bounded to a week by the config; only a bug gets here)
    // waits "forever" rather than panicking.
    let deadline = start
        .checked_add(window)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 86_400));
    let mut attempts = 0;
    loop {
        attempts += 1;
        let last = check(attempts).await;
        if last.verified() {
            return Waited::Verified {
                after: start.elapsed(),
                attempts,
                last,
            };
        }
        let now = Instant::now();
        if now >= deadline {
            return Waited::TimedOut {
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
