//! One pass over every target: observe (AWS), decide ([`crate::select`]), act, verify.
//!
//! Targets are grouped by account (default credentials, or an assumed role): one
//! ListCertificates scan per account serves all of that account's targets, and accounts are
//! worked on side by side, so one account's outage never holds up another's targets. Within an
//! account up to `concurrency` targets run at once, under the account's rate limits.
//! DescribeCertificate and ListTagsForCertificate run only where the list summary cannot
//! decide (and for the serial of a certificate about to be swapped in), once per certificate
//! per pass. A target's failure is recorded in its own result and never stops the others.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tracing::{info, warn};

use crate::aws::accounts::{Account, AccountKey, Accounts};
use crate::aws::acm::{Described, Scan};
use crate::aws::cognito::CognitoDomains;
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
    /// Clients per account.
    pub accounts: Accounts,
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
    /// The candidate's serial as ACM writes it, read when the decision is to rotate.
    pub candidate_serial: Option<String>,
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
    /// Not swapped in this pass: waiting for the canaries of its rollout to verify.
    Held(String),
    /// Not swapped: a canary of its rollout failed; needs an operator.
    Blocked(String),
    /// Failed in earlier passes and skipped in this one (the daemon's backoff).
    BackingOff(String),
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
                | Outcome::BackingOff(_)
                | Outcome::Blocked(_)
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
            Outcome::Held(_) => "held",
            Outcome::Blocked(_) => "blocked",
            Outcome::BackingOff(_) => "backing-off",
        }
    }
}

/// Per-account, per-pass cache of what DescribeCertificate and ListTagsForCertificate said.
/// Behind an async lock held across the call, so concurrent targets wanting the same
/// certificate make one request, not several.
#[derive(Debug, Default)]
struct Details {
    described: tokio::sync::Mutex<HashMap<String, Option<Described>>>,
    tags: tokio::sync::Mutex<HashMap<String, BTreeMap<String, String>>>,
}

impl Context {
    /// Observe and decide for every target; writes nothing.
    pub async fn plan(&self, now: DateTime<Utc>) -> Vec<Planned> {
        let targets: Vec<&Target> = self.config.targets.iter().collect();
        self.plan_targets(&targets, now).await
    }

    /// Targets grouped by account, each group in config order.
    pub(crate) fn by_account<'t>(
        &self,
        targets: &[&'t Target],
    ) -> BTreeMap<AccountKey, Vec<&'t Target>> {
        let mut groups: BTreeMap<AccountKey, Vec<&Target>> = BTreeMap::new();
        for t in targets {
            groups.entry(t.role.clone()).or_default().push(t);
        }
        groups
    }

    /// Plan `targets`, every account at once; results in the order given.
    pub(crate) async fn plan_targets(
        &self,
        targets: &[&Target],
        now: DateTime<Utc>,
    ) -> Vec<Planned> {
        let groups = self.by_account(targets);
        let per_account = futures_util::future::join_all(
            groups
                .iter()
                .map(|(key, group)| self.plan_account(key, group, now)),
        )
        .await;
        let mut by_domain: HashMap<String, Planned> = per_account
            .into_iter()
            .flatten()
            .map(|p| (p.target.domain.clone(), p))
            .collect();
        targets
            .iter()
            .filter_map(|t| by_domain.remove(&t.domain))
            .collect()
    }

    /// One account: one scan, then its targets, `concurrency` at a time.
    pub(crate) async fn plan_account(
        &self,
        key: &AccountKey,
        targets: &[&Target],
        now: DateTime<Utc>,
    ) -> Vec<Planned> {
        let failed = |why: String| -> Vec<Planned> {
            targets
                .iter()
                .map(|t| Planned {
                    target: (*t).clone(),
                    decision: Decision::error(why.clone()),
                    domain: None,
                    candidate_serial: None,
                })
                .collect()
        };
        let Some(account) = self.accounts.get(key) else {
            return failed(format!(
                "no clients for {}",
                crate::aws::accounts::label(key)
            ));
        };
        let scan: Scan = match account.acm.list_issued().await {
            Ok(scan) => {
                info!(
                    account = %account.label,
                    certificates = scan.certificates.len(),
                    pages = scan.pages,
                    "scanned ACM in us-east-1"
                );
                scan
            }
            Err(e) => {
                warn!(account = %account.label, code = e.metric_label(), "cannot list certificates: {e}");
                return failed(format!(
                    "cannot list certificates in account {}: {e}",
                    account.label
                ));
            }
        };
        let details = Details::default();
        let state = self.state.snapshot().await;
        futures_util::stream::iter(targets)
            .map(|t| {
                let denied = state
                    .domains
                    .get(&t.domain)
                    .map(|r| r.denied())
                    .unwrap_or_default();
                let scan = &scan.certificates;
                let details = &details;
                async move {
                    let (decision, domain, candidate_serial) = self
                        .plan_target(account, t, scan, details, &denied, now)
                        .await;
                    Planned {
                        target: (*t).clone(),
                        decision,
                        domain,
                        candidate_serial,
                    }
                }
            })
            .buffered(self.config.concurrency.max(1))
            .collect()
            .await
    }

    pub(crate) fn account_for(&self, target: &Target) -> Result<&Arc<Account>, AwsError> {
        self.accounts
            .get(&target.role)
            .ok_or_else(|| AwsError::Malformed {
                operation: "configuration",
                detail: format!(
                    "no clients for {}",
                    crate::aws::accounts::label(&target.role)
                ),
            })
    }

    pub(crate) fn cognito_for(&self, target: &Target) -> Result<&CognitoDomains, AwsError> {
        self.account_for(target)?.cognito_in(&target.region)
    }

    async fn plan_target(
        &self,
        account: &Account,
        target: &Target,
        scan: &[Certificate],
        details: &Details,
        denied: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> (Decision, Option<DomainInfo>, Option<String>) {
        let view = match account.cognito_in(&target.region) {
            Ok(c) => c.describe(&target.domain).await,
            Err(e) => Err(e),
        };
        let view = match view {
            Ok(v) => v,
            Err(e) => {
                return (
                    Decision::error(format!("cannot read the domain: {e}")),
                    None,
                    None,
                )
            }
        };
        let req = Requirements {
            domain: &target.domain,
            min_validity: target.min_validity,
            require_tags: &target.require_tags,
            denied,
        };
        let certs = match enrich(account, &req, &view, scan, details).await {
            Ok(c) => c,
            Err(e) => {
                return (
                    Decision::error(format!("cannot read certificate details: {e}")),
                    None,
                    None,
                )
            }
        };
        let mut decision = select::decide(
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
        // A swap needs the new certificate's serial to check the edge: read it now, once.
        let mut serial = None;
        if decision.action == select::Action::Rotate {
            let arn = candidate_arn(&decision);
            match describe_cached(account, &arn, details).await {
                Ok(Some(d)) => serial = d.serial,
                Ok(None) => {
                    decision = Decision::error(format!("certificate {arn} vanished from ACM"))
                }
                Err(e) => {
                    decision =
                        Decision::error(format!("cannot read the new certificate's serial: {e}"))
                }
            }
        }
        (decision, domain, serial)
    }
}

/// The certificates that matter for one target, with full SANs and tags where needed,
/// plus the current certificate when the ISSUED scan did not include it.
async fn enrich(
    account: &Account,
    req: &Requirements<'_>,
    view: &DomainView,
    scan: &[Certificate],
    details: &Details,
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
            if let Some(full) = describe_cached(account, &cert.arn, details).await? {
                cert.sans = full.certificate.sans;
                cert.sans_complete = true;
            }
        }
        if select::needs(req, &cert).tags {
            cert.tags = Some(tags_cached(account, &cert.arn, details).await?);
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
            } else if let Some(found) = describe_cached(account, &arn, details).await? {
                let mut cert = found.certificate;
                if select::needs(req, &cert).tags {
                    cert.tags = Some(tags_cached(account, &cert.arn, details).await?);
                }
                out.push(cert);
            }
        }
    }
    Ok(out)
}

async fn describe_cached(
    account: &Account,
    arn: &str,
    details: &Details,
) -> Result<Option<Described>, AwsError> {
    cached(&details.described, arn, account.acm.describe(arn)).await
}

async fn tags_cached(
    account: &Account,
    arn: &str,
    details: &Details,
) -> Result<BTreeMap<String, String>, AwsError> {
    cached(&details.tags, arn, account.acm.tags(arn)).await
}

/// The cached answer for `arn`, or `fetch`'s (then cached). The lock is held across the call,
/// so concurrent targets asking for the same certificate make one request.
async fn cached<T: Clone>(
    cache: &tokio::sync::Mutex<HashMap<String, T>>,
    arn: &str,
    fetch: impl std::future::Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    let mut cache = cache.lock().await;
    if let Some(hit) = cache.get(arn) {
        return Ok(hit.clone());
    }
    let found = fetch.await?;
    cache.insert(arn.to_string(), found.clone());
    Ok(found)
}

pub(crate) fn candidate_arn(d: &Decision) -> String {
    d.candidate
        .as_ref()
        .map(|c| c.arn.clone())
        .unwrap_or_default()
}
