//! The consumers of one account's certificates, read-only: one ACM listing per region
//! (ISSUED and EXPIRED), DescribeCertificate of each certificate ACM says is in use, and each
//! user its `InUseBy` names read from its own service — GetDistribution and
//! ListTagsForResource, GetDomainName, DescribeListeners, DescribeListenerCertificates and
//! DescribeTags.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use super::{Scanned, Scope, ScopeError};
use crate::aws::acm::Acm;
use crate::aws::apigateway::ApiDomains;
use crate::aws::cloudfront::Distributions;
use crate::aws::limit::AccountLimits;
use crate::aws::listener::Listeners;
use crate::aws::{AwsError, Interceptors};
use crate::discovery::consumers::{classify, Use};
use crate::discovery::FoundConsumer;
use crate::model::{Certificate, Consumer, ConsumerKind, Seen, CERTIFICATE_REGION};

/// Every region's certificates and what uses them (us-east-1 always: what CloudFront
/// serves), into `out`, and the expiry of the custom domains' certificates.
pub(super) async fn add(
    scope: &Scope,
    regions: &[String],
    interceptors: &Interceptors,
    limits: &Arc<AccountLimits>,
    out: &mut Scanned,
) {
    let cognito_certificates: BTreeSet<String> = out
        .domains
        .iter()
        .filter_map(|d| d.certificate_arn.clone())
        .collect();
    let clients = Clients {
        scope,
        interceptors,
        limits,
        cognito_certificates: &cognito_certificates,
    };
    let acm_regions: BTreeSet<&str> = regions
        .iter()
        .map(String::as_str)
        .chain([CERTIFICATE_REGION])
        .collect();
    let scans = join_all(acm_regions.iter().map(|name| {
        let clients = &clients;
        async move { (*name, region(clients, name).await) }
    }))
    .await;
    let mut expiry = BTreeMap::new();
    for (region, scan) in scans {
        match scan {
            Ok(found) => {
                out.consumers.extend(found.consumers);
                out.errors
                    .extend(found.unread.into_iter().map(|error| ScopeError {
                        account: scope.account.clone(),
                        region: Some(region.to_string()),
                        error,
                    }));
                expiry.extend(found.expiry);
            }
            Err(e) => out.errors.push(ScopeError {
                account: scope.account.clone(),
                region: Some(region.to_string()),
                error: format!(
                    "certificates and their consumers unknown: {}",
                    crate::format::Chain(&e)
                ),
            }),
        }
    }
    for d in &mut out.domains {
        d.not_after = d
            .certificate_arn
            .as_ref()
            .and_then(|a| expiry.get(a).copied().flatten());
    }
}

/// What one region's scan found: the consumers, and every certificate's expiry by ARN.
pub(super) struct RegionConsumers {
    pub consumers: Vec<FoundConsumer>,
    /// The consumers whose service answered with an error, a line each.
    pub unread: Vec<String>,
    pub expiry: BTreeMap<String, Option<DateTime<Utc>>>,
}

/// The clients of one account a region's scan reads through.
pub(super) struct Clients<'a> {
    pub scope: &'a Scope,
    pub interceptors: &'a Interceptors,
    pub limits: &'a Arc<AccountLimits>,
    /// The certificates of the custom domains found in the account: a distribution of another
    /// account (Cognito's own) using one of them is that custom domain, already listed.
    pub cognito_certificates: &'a BTreeSet<String>,
}

/// The consumers of the certificates of `region`.
pub(super) async fn region(
    clients: &Clients<'_>,
    region: &str,
) -> Result<RegionConsumers, AwsError> {
    let acm = Acm::in_region(
        &clients.scope.sdk,
        region,
        clients.interceptors,
        clients.limits.clone(),
    );
    let scan = acm.list_for_discovery().await?;
    let by_arn: BTreeMap<&str, &Certificate> = scan
        .certificates
        .iter()
        .map(|c| (c.arn.as_str(), c))
        .collect();
    let mut consumers = Vec::new();
    let mut unread = Vec::new();
    let mut balancers = Balancers::new();
    for arn in &scan.in_use {
        if let Some(cert) = by_arn.get(arn.as_str()) {
            let found = certificate_users(clients, &acm, cert, &mut balancers, &mut unread).await?;
            consumers.extend(found);
        }
    }
    let expiry = scan
        .certificates
        .iter()
        .map(|c| (c.arn.clone(), c.not_after))
        .collect();
    Ok(RegionConsumers {
        consumers,
        unread,
        expiry,
    })
}

/// What uses `cert`: DescribeCertificate's `InUseBy`, each user read from its service (one
/// that cannot be read is a row saying why, and a line in `unread`, not a lost region).
async fn certificate_users(
    clients: &Clients<'_>,
    acm: &Acm,
    cert: &Certificate,
    balancers: &mut Balancers,
    unread: &mut Vec<String>,
) -> Result<Vec<FoundConsumer>, AwsError> {
    let Some(described) = acm.describe(&cert.arn).await? else {
        return Ok(Vec::new());
    };
    let users: BTreeSet<Use> = described.in_use_by.iter().map(|u| classify(u)).collect();
    let mut consumers = Vec::new();
    for user in users {
        let found = match users_of(clients, &user, &described.certificate, balancers).await {
            Ok(found) => found,
            Err(e) => {
                let row = unreadable(&user, &e);
                unread.push(format!(
                    "cannot read {} {}: {}",
                    row.kind,
                    row.id,
                    crate::format::Chain(&e)
                ));
                vec![row]
            }
        };
        for mut found in found {
            found.account = clients.scope.account.clone();
            found.role_arn = clients.scope.role_arn.clone();
            found.certificate_arn = cert.arn.clone();
            found.not_after = cert.not_after;
            consumers.push(found);
        }
    }
    Ok(consumers)
}

/// Each load balancer's TLS listeners as read once in a region's scan: one load balancer
/// holds many certificates, each of which names it.
type Balancers = BTreeMap<String, Vec<(String, Seen)>>;

/// A consumer whose service answered with an error: listed, with the error, never a target.
fn unreadable(user: &Use, e: &AwsError) -> FoundConsumer {
    let (kind, id, region) = match user {
        Use::Distribution { id, .. } => (ConsumerKind::CloudFront, id.as_str(), CERTIFICATE_REGION),
        Use::ApiDomain { region, name } => {
            (ConsumerKind::ApiGateway, name.as_str(), region.as_str())
        }
        Use::LoadBalancer { region, arn } => {
            (ConsumerKind::Listener, arn.as_str(), region.as_str())
        }
        Use::Other(arn) => {
            return FoundConsumer::new(None, arn, "-", Vec::new());
        }
    };
    let mut found = FoundConsumer::new(None, id, region, Vec::new());
    found.kind = kind.label();
    found.note = Some(format!("cannot read it: {}", crate::format::Chain(e)));
    found
}

/// The consumers `user` names that use `cert`, read from their service.
async fn users_of(
    clients: &Clients<'_>,
    user: &Use,
    cert: &Certificate,
    balancers: &mut Balancers,
) -> Result<Vec<FoundConsumer>, AwsError> {
    let sdk = &clients.scope.sdk;
    Ok(match user {
        Use::Distribution { account, id } if *account != clients.scope.account => {
            if clients.cognito_certificates.contains(&cert.arn) {
                return Ok(Vec::new());
            }
            let mut found = FoundConsumer::new(None, id, CERTIFICATE_REGION, Vec::new());
            found.kind = ConsumerKind::CloudFront.label();
            found.note = Some(format!(
                "a distribution of account {account}, which this scope cannot read"
            ));
            vec![found]
        }
        Use::Distribution { id, .. } => {
            let cloudfront =
                Distributions::from_sdk_config(sdk, clients.interceptors, clients.limits);
            let Some(seen) = cloudfront.seen(id).await? else {
                return Ok(Vec::new());
            };
            let consumer = Consumer::Distribution { id: id.clone() };
            vec![with_tags(
                FoundConsumer::new(Some(consumer), id, CERTIFICATE_REGION, seen.names),
                seen.tags,
            )]
        }
        Use::ApiDomain { region, name } => {
            let api =
                ApiDomains::from_sdk_config(sdk, region, clients.interceptors, clients.limits);
            let Some(seen) = api.seen(name).await? else {
                return Ok(Vec::new());
            };
            vec![with_tags(
                FoundConsumer::new(Some(Consumer::ApiDomain), name, region, seen.names),
                seen.tags,
            )]
        }
        Use::LoadBalancer { region, arn } => {
            listeners_using(clients, region, arn, cert, balancers).await?
        }
        Use::Other(arn) => vec![FoundConsumer::new(None, arn, "-", Vec::new())],
    })
}

/// The listeners of load balancer `arn` that have `cert`, each named by the certificate's
/// names (a listener has none of its own).
async fn listeners_using(
    clients: &Clients<'_>,
    region: &str,
    arn: &str,
    cert: &Certificate,
    balancers: &mut Balancers,
) -> Result<Vec<FoundConsumer>, AwsError> {
    if !balancers.contains_key(arn) {
        let elb = Listeners::from_sdk_config(
            &clients.scope.sdk,
            region,
            clients.interceptors,
            clients.limits,
        );
        balancers.insert(arn.to_string(), elb.seen(arn).await?);
    }
    let mut names: Vec<String> = Vec::new();
    for name in cert.names() {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    Ok(balancers
        .get(arn)
        .into_iter()
        .flatten()
        .filter(|(_, seen)| seen.certificates.contains(&cert.arn))
        .map(|(listener, seen)| {
            let consumer = Consumer::Listener {
                arn: listener.clone(),
            };
            with_tags(
                FoundConsumer::new(Some(consumer), listener, region, names.clone()),
                seen.tags.clone(),
            )
        })
        .collect())
}

fn with_tags(mut found: FoundConsumer, tags: BTreeMap<String, String>) -> FoundConsumer {
    found.tags = tags;
    found
}
