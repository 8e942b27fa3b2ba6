//! One pass over every target: observe (AWS), decide ([`crate::select`]), act, verify.
//!
//! One ListCertificates scan serves every target of a pass; DescribeCertificate and
//! ListTagsForCertificate run only where the list summary cannot decide, once per certificate
//! per pass. A target's failure is recorded in its own result and never stops the others.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::info;

use crate::aws::acm::{Acm, Described};
use crate::aws::cognito::{CognitoDomains, CognitoRegions};
use crate::aws::AwsError;
use crate::config::{Config, Target};
use crate::hooks::HookRunner;
use crate::metrics::{Metrics, TargetLabels};
use crate::model::{Certificate, DomainInfo, DomainView};
use crate::select::{self, Decision, Requirements};
use crate::state::StateStore;
use crate::verify::TlsProbe;

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
    /// Swaps in flight and their outcomes, persisted.
    pub state: Arc<StateStore>,
    /// Metrics (exported when `metrics.listen` is set).
    pub metrics: Metrics,
    /// Event hooks.
    pub hooks: Arc<HookRunner>,
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
    /// Running in the background until this deadline (the daemon).
    InBackground(String),
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
                verification: Verification::InBackground(_),
                ..
            } => "rotated-verifying",
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
        let mut details = Details::default();
        let mut planned = Vec::with_capacity(self.config.targets.len());
        for target in &self.config.targets {
            let (decision, domain) = match &scan {
                Ok(certs) => self.plan_target(target, certs, &mut details, now).await,
                Err(e) => (
                    Decision::error(format!("cannot list certificates: {e}")),
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

    pub(crate) fn cognito_for(&self, target: &Target) -> Result<&CognitoDomains, AwsError> {
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
        details: &mut Details,
        now: DateTime<Utc>,
    ) -> (Decision, Option<DomainInfo>) {
        let view = match self.cognito_for(target) {
            Ok(c) => c.describe(&target.domain).await,
            Err(e) => Err(e),
        };
        let view = match view {
            Ok(v) => v,
            Err(e) => {
                return (
                    Decision::error(format!("cannot read the domain: {e}")),
                    None,
                )
            }
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
                    Decision::error(format!("cannot read certificate details: {e}")),
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
        if let Some(current) = &decision.current {
            let labels = TargetLabels {
                domain: target.domain.clone(),
                user_pool_id: target.user_pool_id.clone(),
            };
            if let Some(t) = current.not_after {
                self.metrics
                    .expiration
                    .get_or_create(&labels)
                    .set(t.timestamp());
            }
            if let Some(t) = current.not_before {
                self.metrics
                    .not_before
                    .get_or_create(&labels)
                    .set(t.timestamp());
            }
        }
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
        details: &mut Details,
    ) -> Result<Vec<Certificate>, AwsError> {
        let mut out = Vec::new();
        for cert in scan {
            // Most of a large scan is for other domains: look before cloning.
            let needs = select::needs(req, cert);
            if !needs.full_sans && !select::covers(cert, req.domain) {
                continue;
            }
            let mut cert = cert.clone();
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
        details: &mut Details,
    ) -> Result<Option<Described>, AwsError> {
        if let Some(hit) = details.described.get(arn) {
            return Ok(hit.clone());
        }
        let found = self.acm.describe(arn).await?;
        details.described.insert(arn.to_string(), found.clone());
        Ok(found)
    }

    async fn tags_cached(
        &self,
        arn: &str,
        details: &mut Details,
    ) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
        if let Some(hit) = details.tags.get(arn) {
            return Ok(hit.clone());
        }
        let tags = self.acm.tags(arn).await?;
        details.tags.insert(arn.to_string(), tags.clone());
        Ok(tags)
    }
}

pub(crate) fn candidate_arn(d: &Decision) -> String {
    d.candidate
        .as_ref()
        .map(|c| c.arn.clone())
        .unwrap_or_default()
}
