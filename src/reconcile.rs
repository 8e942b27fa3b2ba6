//! One pass over every target: observe (AWS), decide ([`crate::select`]), act, verify.
//!
//! One ListCertificates scan serves every target of a pass; DescribeCertificate and
//! ListTagsForCertificate run only where the list summary cannot decide, once per certificate
//! per pass. A target's failure is recorded in its own result and never stops the others.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::aws::acm::{Acm, Described};
use crate::aws::cognito::{CognitoDomains, CognitoRegions};
use crate::aws::AwsError;
use crate::config::{Config, Target};
use crate::model::{Certificate, DomainInfo, DomainView};
use crate::select::{self, Action, Decision, Requirements};
use crate::serial::Serial;
use crate::verify::{self, Observation, TlsProbe, Verdict};

/// Clients and configuration for passes: built once, passed in (no globals).
#[derive(Debug, Clone)]
pub struct Context {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// ACM in us-east-1.
    pub acm: Acm,
    /// Cognito per user pool region.
    pub cognito: CognitoRegions,
    /// The TLS probe, unless `verify.tls: false`.
    pub probe: Option<TlsProbe>,
}

/// A target with what was observed and decided about it.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The configured target.
    pub target: Target,
    /// The decision (an `Error` action when observing failed).
    pub decision: Decision,
    /// The domain as read, when it was.
    pub domain: Option<DomainInfo>,
}

/// What happened to a target in a `once` pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do.
    Kept(String),
    /// `--dry-run`: this swap would have been made.
    WouldRotate(String),
    /// Swapped; see how verification went.
    Rotated {
        /// Old ARN.
        from: Option<String>,
        /// New ARN.
        to: String,
        /// Verification result.
        verification: Verification,
    },
    /// The target needs attention.
    Failed(String),
}

/// Verification of one swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Not attempted (`once` without `--wait`).
    NotRequested,
    /// Cognito and the edge show the new certificate.
    Verified(String),
    /// The window ran out or the check could not run.
    Failed(String),
}

impl Outcome {
    /// Whether this outcome makes the process exit 1.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Failed(_)
                | Outcome::Rotated {
                    verification: Verification::Failed(_),
                    ..
                }
        )
    }

    /// A short label for the summary line.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Kept(_) => "kept",
            Outcome::WouldRotate(_) => "would-rotate",
            Outcome::Rotated {
                verification: Verification::NotRequested,
                ..
            } => "rotated-unverified",
            Outcome::Rotated {
                verification: Verification::Verified(_),
                ..
            } => "rotated-verified",
            Outcome::Rotated {
                verification: Verification::Failed(_),
                ..
            } => "rotated-verification-failed",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// Per-pass cache of what DescribeCertificate and ListTagsForCertificate said.
#[derive(Debug, Default)]
struct Details {
    described: HashMap<String, Option<Described>>,
    tags: HashMap<String, std::collections::BTreeMap<String, String>>,
}

impl Context {
    /// Observe and decide for every target; writes nothing.
    pub async fn plan(&self, now: DateTime<Utc>) -> Vec<Planned> {
        let scan = match self.acm.list_issued().await {
            Ok(scan) => {
                info!(
                    certificates = scan.certificates.len(),
                    pages = scan.pages,
                    "scanned ACM in us-east-1"
                );
                Ok(scan.certificates)
            }
            Err(e) => Err(e),
        };
        let details = Mutex::new(Details::default());
        let mut planned = Vec::with_capacity(self.config.targets.len());
        for target in &self.config.targets {
            let (decision, domain) = match &scan {
                Ok(certs) => self.plan_target(target, certs, &details, now).await,
                Err(e) => (
                    error_decision(format!("cannot list certificates: {e}")),
                    None,
                ),
            };
            planned.push(Planned {
                target: target.clone(),
                decision,
                domain,
            });
        }
        planned
    }

    fn cognito_for(&self, target: &Target) -> Result<&CognitoDomains, AwsError> {
        self.cognito
            .region(&target.region)
            .ok_or_else(|| AwsError::Malformed {
                operation: "DescribeUserPoolDomain",
                detail: format!("no Cognito client for region {}", target.region),
            })
    }

    async fn plan_target(
        &self,
        target: &Target,
        scan: &[Certificate],
        details: &Mutex<Details>,
        now: DateTime<Utc>,
    ) -> (Decision, Option<DomainInfo>) {
        let view = match self.cognito_for(target) {
            Ok(c) => c.describe(&target.domain).await,
            Err(e) => Err(e),
        };
        let view = match view {
            Ok(v) => v,
            Err(e) => return (error_decision(format!("cannot read the domain: {e}")), None),
        };
        let req = Requirements {
            domain: &target.domain,
            min_validity: target.min_validity,
            require_tags: &target.require_tags,
        };
        let certs = match self.enrich(&req, &view, scan, details).await {
            Ok(c) => c,
            Err(e) => {
                return (
                    error_decision(format!("cannot read certificate details: {e}")),
                    None,
                )
            }
        };
        let decision = select::decide(
            &req,
            &select::Observed {
                user_pool_id: &target.user_pool_id,
                domain: &view,
                certificates: &certs,
            },
            now,
        );
        let domain = match view {
            DomainView::Present(info) => Some(info),
            DomainView::Missing => None,
        };
        (decision, domain)
    }

    /// The certificates that matter for one target, with full SANs and tags where needed,
    /// plus the current certificate when the ISSUED scan did not include it.
    async fn enrich(
        &self,
        req: &Requirements<'_>,
        view: &DomainView,
        scan: &[Certificate],
        details: &Mutex<Details>,
    ) -> Result<Vec<Certificate>, AwsError> {
        let mut out = Vec::new();
        for cert in scan {
            let mut cert = cert.clone();
            let needs = select::needs(req, &cert);
            if needs.full_sans {
                if let Some(full) = self.describe_cached(&cert.arn, details).await? {
                    cert.sans = full.certificate.sans;
                    cert.sans_complete = true;
                }
            }
            if select::needs(req, &cert).tags {
                cert.tags = Some(self.tags_cached(&cert.arn, details).await?);
            }
            if select::covers(&cert, req.domain) {
                out.push(cert);
            }
        }
        let current = match view {
            DomainView::Present(DomainInfo {
                certificate_arn: Some(arn),
                ..
            }) => Some(arn.clone()),
            _ => None,
        };
        if let Some(arn) = current {
            if !out.iter().any(|c| c.arn == arn) {
                if let Some(scanned) = scan.iter().find(|c| c.arn == arn) {
                    out.push(scanned.clone());
                } else if let Some(found) = self.describe_cached(&arn, details).await? {
                    let mut cert = found.certificate;
                    if select::needs(req, &cert).tags {
                        cert.tags = Some(self.tags_cached(&cert.arn, details).await?);
                    }
                    out.push(cert);
                }
            }
        }
        Ok(out)
    }

    async fn describe_cached(
        &self,
        arn: &str,
        details: &Mutex<Details>,
    ) -> Result<Option<Described>, AwsError> {
        if let Some(hit) = details.lock().await.described.get(arn) {
            return Ok(hit.clone());
        }
        let found = self.acm.describe(arn).await?;
        details
            .lock()
            .await
            .described
            .insert(arn.to_string(), found.clone());
        Ok(found)
    }

    async fn tags_cached(
        &self,
        arn: &str,
        details: &Mutex<Details>,
    ) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
        if let Some(hit) = details.lock().await.tags.get(arn) {
            return Ok(hit.clone());
        }
        let tags = self.acm.tags(arn).await?;
        details
            .lock()
            .await
            .tags
            .insert(arn.to_string(), tags.clone());
        Ok(tags)
    }

    /// Plan, then swap where the plan says rotate (unless `dry_run`), then verify every swap
    /// when `wait`. Returns each target with its outcome, in config order.
    pub async fn once(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        wait: bool,
    ) -> Vec<(Planned, Outcome)> {
        let planned = self.plan(now).await;
        let mut results = Vec::with_capacity(planned.len());
        let mut to_verify = Vec::new();
        for (index, p) in planned.into_iter().enumerate() {
            let outcome = match p.decision.action {
                Action::Keep => Outcome::Kept(p.decision.reason.clone()),
                Action::Error => Outcome::Failed(p.decision.reason.clone()),
                Action::Rotate if dry_run => Outcome::WouldRotate(p.decision.reason.clone()),
                Action::Rotate => match self.swap(&p).await {
                    Ok(serial) => {
                        let to = candidate_arn(&p.decision);
                        if wait {
                            to_verify.push((index, p.target.clone(), to.clone(), serial));
                        }
                        Outcome::Rotated {
                            from: p.decision.current_arn.clone(),
                            to,
                            verification: Verification::NotRequested,
                        }
                    }
                    Err(why) => Outcome::Failed(why),
                },
            };
            results.push((p, outcome));
        }

        if !to_verify.is_empty() {
            let mut tasks = tokio::task::JoinSet::new();
            for (index, target, arn, serial) in to_verify {
                let ctx = self.clone();
                tasks.spawn(async move {
                    let verdict = ctx.verify_swap(&target, &arn, serial).await;
                    (index, verdict)
                });
            }
            while let Some(joined) = tasks.join_next().await {
                let Ok((index, verdict)) = joined else {
                    continue;
                };
                if let Some((_, Outcome::Rotated { verification, .. })) = results.get_mut(index) {
                    *verification = verdict;
                }
            }
            // A task that panicked leaves its target NotRequested; say so instead of passing.
            for (_, outcome) in &mut results {
                if let Outcome::Rotated { verification, .. } = outcome {
                    if wait && *verification == Verification::NotRequested {
                        *verification =
                            Verification::Failed("the verification task stopped early".into());
                    }
                }
            }
        }
        results
    }

    /// Re-read the domain, read the new certificate's serial, then UpdateUserPoolDomain.
    /// Returns the serial the edge must show.
    async fn swap(&self, p: &Planned) -> Result<Option<Serial>, String> {
        let target = &p.target;
        let to = candidate_arn(&p.decision);
        let cognito = self.cognito_for(target).map_err(|e| e.to_string())?;
        // The decision is only as fresh as the read it was based on: check again right before
        // writing, so a concurrent change (a person, another rotator) is never overwritten.
        let fresh = cognito
            .describe(&target.domain)
            .await
            .map_err(|e| format!("cannot re-read the domain before swapping: {e}"))?;
        let DomainView::Present(info) = fresh else {
            return Err("the domain disappeared before the swap".into());
        };
        if info.user_pool_id != target.user_pool_id {
            return Err(format!(
                "refusing to swap: domain {} belongs to user pool {}, not {}",
                target.domain, info.user_pool_id, target.user_pool_id
            ));
        }
        if info.certificate_arn.is_none() {
            return Err("refusing to swap: the domain is not a custom domain any more".into());
        }
        if info.certificate_arn != p.decision.current_arn {
            return Err(format!(
                "the domain's certificate changed since it was read (now {}); not swapping, will look again next pass",
                info.certificate_arn.as_deref().unwrap_or("none")
            ));
        }
        let serial = match self.acm.describe(&to).await {
            Ok(Some(d)) => d.serial.as_deref().and_then(|s| Serial::parse(s).ok()),
            Ok(None) => {
                return Err(format!(
                    "certificate {to} vanished from ACM before the swap"
                ))
            }
            Err(e) => return Err(format!("cannot read the new certificate's serial: {e}")),
        };
        cognito
            .update_certificate(&target.domain, &target.user_pool_id, &to, &info)
            .await
            .map_err(|e| format!("swap failed: {e}"))?;
        info!(
            domain = %target.domain,
            user_pool_id = %target.user_pool_id,
            from = p.decision.current_arn.as_deref().unwrap_or("none"),
            to = %to,
            "swapped the certificate; CloudFront may take up to an hour to serve it"
        );
        Ok(serial)
    }

    /// Poll until Cognito and the edge both show the new certificate, or the window ends.
    pub async fn verify_swap(
        &self,
        target: &Target,
        arn: &str,
        serial: Option<Serial>,
    ) -> Verification {
        let settings = &self.config.verify;
        let Ok(cognito) = self.cognito_for(target) else {
            return Verification::Failed(format!("no Cognito client for {}", target.region));
        };
        if settings.tls && serial.is_none() {
            return Verification::Failed(
                "ACM gave no readable serial for the new certificate; cannot check the edge".into(),
            );
        }
        info!(
            domain = %target.domain,
            window = %crate::select::fmt_duration(settings.window),
            interval = %crate::select::fmt_duration(settings.interval),
            edge = %self.probe.as_ref().map_or("off".to_string(), |p| p.target(&target.domain)),
            "verifying: waiting for Cognito ACTIVE on the new certificate and the edge serving it"
        );
        let last_note = std::sync::Mutex::new(String::new());
        let verdict = verify::wait_until_verified(settings.window, settings.interval, |attempt| {
            let serial = serial.clone();
            let last_note = &last_note;
            async move {
                let obs = self
                    .observe(cognito, &target.domain, arn, serial.as_ref())
                    .await;
                if !obs.verified() {
                    let note = obs.pending();
                    let changed = last_note
                        .lock()
                        .map(|mut last| {
                            let changed = *last != note;
                            *last = note.clone();
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
                Verification::Verified(format!(
                    "verified after {} ({attempts} checks); {trust}",
                    crate::select::fmt_duration(after)
                ))
            }
            Verdict::TimedOut {
                window,
                attempts,
                last,
            } => Verification::Failed(format!(
                "not verified within {} ({attempts} checks): {}",
                crate::select::fmt_duration(window),
                last.pending()
            )),
        }
    }

    async fn observe(
        &self,
        cognito: &CognitoDomains,
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

fn candidate_arn(d: &Decision) -> String {
    d.candidate
        .as_ref()
        .map(|c| c.arn.clone())
        .unwrap_or_default()
}

fn error_decision(reason: String) -> Decision {
    Decision {
        action: Action::Error,
        reason,
        current: None,
        current_arn: None,
        candidate: None,
        rejected: Vec::new(),
    }
}
