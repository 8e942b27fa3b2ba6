//! Plan: observe and decide for every target — one pass's reads of AWS and the selection over
//! them, each target's [`Planned`]. Writes nothing (`plan` and `status` are this module alone).
//!
//! Targets are grouped by account (default credentials, or an assumed role): one
//! ListCertificates scan per account serves all of that account's targets, and accounts are
//! read side by side, so one account's outage never holds up another's targets. Within an
//! account up to `concurrency` targets run at once, under the account's rate limits.
//! DescribeCertificate and ListTagsForCertificate run only where the list summary cannot
//! decide (and for the serial of a certificate about to be swapped in), once per certificate
//! per pass. A target's failure is recorded in its own [`Planned`] and never stops the others.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tracing::warn;

use crate::aws::accounts::{Account, AccountKey};
use crate::aws::AwsError;
use crate::config::Target;
use crate::context::Context;
use crate::error::{CandidateError, MissingClient, TargetError};
use crate::metrics::TargetLabels;
use crate::model::{Certificate, DomainInfo, DomainView, ManagedRenewal, CERTIFICATE_REGION};
pub use crate::planned::Planned;
use crate::select::{self, Decision, Requirements};
use crate::serial::Serial;

/// Observe and decide for every configured target; writes nothing (`plan`, `status`).
/// Candidate serials are read only when a rollout groups its targets by serial: nothing
/// will be swapped, so nothing else needs them.
pub async fn all(ctx: &Context, now: DateTime<Utc>) -> Vec<Planned> {
    let targets: Vec<&Target> = ctx.config.targets.iter().collect();
    for_targets(ctx, &targets, ctx.config.rollout.enabled(), now).await
}

/// Targets grouped by account, each group in config order.
pub fn by_account<'t>(targets: &[&'t Target]) -> BTreeMap<AccountKey, Vec<&'t Target>> {
    let mut groups: BTreeMap<AccountKey, Vec<&Target>> = BTreeMap::new();
    for t in targets {
        groups.entry(t.role.clone()).or_default().push(t);
    }
    groups
}

/// Plan `targets`, every account at once; results in the order given. `serials`: read
/// and parse the serial of each certificate about to be swapped in (one DescribeCertificate
/// each) — needed before a swap, and by rollouts that group targets by serial.
pub async fn for_targets(
    ctx: &Context,
    targets: &[&Target],
    serials: bool,
    now: DateTime<Utc>,
) -> Vec<Planned> {
    let groups = by_account(targets);
    let per_account = futures_util::future::join_all(
        groups
            .iter()
            .map(|(key, group)| account(ctx, key, group, serials, now)),
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

/// One account: one scan, then its targets, `concurrency` at a time (`serials`: see
/// [`for_targets`]).
pub async fn account(
    ctx: &Context,
    key: &AccountKey,
    targets: &[&Target],
    serials: bool,
    now: DateTime<Utc>,
) -> Vec<Planned> {
    let mut planned = Vec::with_capacity(targets.len());
    account_each(ctx, key, targets, serials, now, &mut |p| planned.push(p)).await;
    planned
}

/// `plan` and `status`, target by target: each is handed to `each` as soon as it is decided,
/// in config order, so a large fleet's explanations are written out and dropped one by one
/// instead of all being held at once. Targets in several accounts are collected first, to
/// keep config order across accounts.
pub async fn each(ctx: &Context, now: DateTime<Utc>, each: &mut dyn FnMut(Planned)) {
    let targets: Vec<&Target> = ctx.config.targets.iter().collect();
    let serials = ctx.config.rollout.enabled();
    let groups = by_account(&targets);
    match groups.iter().next() {
        Some((key, group)) if groups.len() == 1 => {
            account_each(ctx, key, group, serials, now, each).await
        }
        _ => for_targets(ctx, &targets, serials, now)
            .await
            .into_iter()
            .for_each(each),
    }
}

/// [`account`], handing each target to `each` as soon as it is decided, in order.
async fn account_each(
    ctx: &Context,
    key: &AccountKey,
    targets: &[&Target],
    serials: bool,
    now: DateTime<Utc>,
    each: &mut dyn FnMut(Planned),
) {
    let mut failed = |error: TargetError| {
        for t in targets {
            each(Planned::failed((*t).clone(), error.clone()));
        }
    };
    let Some(account) = ctx.accounts.get(key) else {
        return failed(TargetError::Setup(MissingClient::Account {
            account: crate::aws::accounts::label(key),
        }));
    };
    let scans = Scans::new(account, targets);
    let details = Details::default();
    let state = match ctx.state.snapshot().await {
        Ok(s) => s,
        Err(e) => return failed(TargetError::state("cannot read the state (denylists)", e)),
    };
    let mut decided = futures_util::stream::iter(targets)
        .map(|t| {
            let denied = state
                .domains
                .get(&t.domain)
                .map(|r| r.denied())
                .unwrap_or_default();
            let scans = &scans;
            let details = &details;
            async move { target(ctx, account, t, scans, details, &denied, serials, now).await }
        })
        .buffered(ctx.config.concurrency.max(1));
    while let Some(planned) = decided.next().await {
        each(planned);
    }
}

/// Observe one target (its domain, the certificates that matter) and decide. A failure to
/// observe is the target's own and never stops the others.
#[allow(clippy::too_many_arguments)]
async fn target(
    ctx: &Context,
    account: &Account,
    target: &Target,
    scans: &Scans<'_>,
    details: &Details,
    denied: &BTreeMap<String, String>,
    serials: bool,
    now: DateTime<Utc>,
) -> Planned {
    let failed = |error: TargetError| Planned::failed(target.clone(), error);
    let (view, scan) = match observe(account, target, scans).await {
        Ok(seen) => seen,
        Err(error) => return failed(error),
    };
    let region = match &view {
        DomainView::Present(info) => info.certificate_region.as_str(),
        DomainView::Missing => CERTIFICATE_REGION,
    };
    let scan = scan.as_slice();
    let req = Requirements {
        domain: &target.domain,
        region,
        min_validity: target.min_validity,
        require_tags: &target.require_tags,
        denied,
    };
    let certs = match enrich(account, &req, &view, scan, details).await {
        Ok(c) => c,
        Err(e) => return failed(TargetError::aws("cannot read certificate details", e)),
    };
    let decision = select::decide(
        &req,
        &select::Observed {
            consumer: &target.consumer,
            consumer_id: target.consumer_id(),
            domain: &view,
            certificates: &certs,
        },
        now,
    );
    export_current(ctx, target, &decision);
    let domain = match view {
        DomainView::Present(info) => Some(info),
        DomainView::Missing => None,
    };
    let mut planned = Planned {
        target: target.clone(),
        decision,
        error: None,
        domain,
        candidate_serial: None,
        managed_renewal: None,
    };
    planned.managed_renewal = managed_renewal(ctx, account, &planned, details, now).await;
    if serials {
        read_candidate_serial(account, &mut planned, details).await;
    }
    planned
}

/// What `target`'s consumer serves, and the listing of the region its certificates come from.
/// Where the configuration already says that region, the listing comes first (a target whose
/// account cannot be listed fails without reading its consumer); an API Gateway domain's is
/// known only once read (edge-optimized or regional).
async fn observe(
    account: &Account,
    target: &Target,
    scans: &Scans<'_>,
) -> Result<(DomainView, std::sync::Arc<Vec<Certificate>>), TargetError> {
    let early = match target.certificate_region() {
        Some(region) => Some(scans.region(region).await?),
        None => None,
    };
    let view = match account.consumer_api(target) {
        Ok(api) => api.describe().await,
        Err(e) => Err(e),
    }
    .map_err(|e| TargetError::aws("cannot read the domain", e))?;
    let region = match &view {
        DomainView::Present(info) => info.certificate_region.as_str(),
        DomainView::Missing => CERTIFICATE_REGION,
    };
    let scan = match early {
        Some(scan) => scan,
        None => scans.region(region).await?,
    };
    Ok((view, scan))
}

/// A swap needs the new certificate's serial to check the edge: read and parse it now, once,
/// so a certificate whose serial cannot be read is never swapped in (the target fails).
async fn read_candidate_serial(account: &Account, planned: &mut Planned, details: &Details) {
    let Some(arn) = planned.rotate_to().map(str::to_string) else {
        return;
    };
    match candidate_serial(account, &arn, details).await {
        Ok(serial) => planned.candidate_serial = Some(serial),
        Err(e) => {
            planned.decision = Decision::error(e.to_string());
            planned.error = Some(e);
        }
    }
}

/// The current certificate's validity as metrics (expiry, start), when known.
fn export_current(ctx: &Context, target: &Target, decision: &Decision) {
    let Some(current) = &decision.current else {
        return;
    };
    let labels = TargetLabels::of(target);
    if let Some(t) = current.not_after {
        ctx.metrics
            .expiration
            .get_or_create(&labels)
            .set(t.timestamp());
    }
    if let Some(t) = current.not_before {
        ctx.metrics
            .not_before
            .get_or_create(&labels)
            .set(t.timestamp());
    }
}

/// ACM's `RenewalSummary` of the current certificate when ACM renews it and it is inside its
/// renewal window (one DescribeCertificate, only then); a stuck renewal is logged and
/// exported while there is still time to act.
async fn managed_renewal(
    ctx: &Context,
    account: &Account,
    planned: &Planned,
    details: &Details,
    now: DateTime<Utc>,
) -> Option<ManagedRenewal> {
    let domain = &planned.target.domain;
    let Some(current) = (planned.decision.current.as_ref()).filter(|c| c.in_managed_renewal(now))
    else {
        // Outside the window (or swapped away): nothing is stuck, whatever was before.
        ctx.metrics.set_renewal_action_required(domain, false);
        return None;
    };
    let renewal = match describe_cached(account, &current.arn, details).await {
        Ok(d) => d?.renewal?,
        Err(e) => {
            warn!(%domain, "cannot read the managed renewal status of the current certificate: {e}");
            return None;
        }
    };
    let stuck = renewal.needs_action();
    if stuck {
        warn!(%domain, certificate = %current.arn, status = %renewal.status, reason = renewal.reason.as_deref().unwrap_or("-"), "{}", renewal.summary());
    }
    ctx.metrics.set_renewal_action_required(domain, stuck);
    Some(renewal)
}

/// The parsed serial of the certificate about to be swapped in.
async fn candidate_serial(
    account: &Account,
    arn: &str,
    details: &Details,
) -> Result<Serial, TargetError> {
    let described = describe_cached(account, arn, details)
        .await
        .map_err(|e| TargetError::aws("cannot read the new certificate's serial", e))?
        .ok_or_else(|| {
            TargetError::Candidate(CandidateError::Vanished {
                arn: arn.to_string(),
            })
        })?;
    described
        .parsed_serial()
        .map_err(|why| TargetError::Candidate(CandidateError::NoSerial(why)))
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

mod details;
mod scans;

use details::{describe_cached, tags_cached, Details};
use scans::Scans;
