//! PURE: the consumers of certificates `discover` finds through ACM's `InUseBy` — CloudFront
//! distributions, API Gateway domains, load balancer listeners, and what it cannot move — as
//! rows, fleet entries, and the targets `discovery.manage_tagged` makes of them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::model::Target;
use crate::format::rfc3339;
use crate::model::{arn_tail, Consumer, ConsumerKind};

/// What an `InUseBy` ARN names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Use {
    /// `arn:aws:cloudfront::ACCOUNT:distribution/ID`.
    Distribution {
        /// The account that owns it (Cognito's own for a user pool's custom domain).
        account: String,
        /// The distribution ID.
        id: String,
    },
    /// `arn:aws:apigateway:REGION::/domainnames/NAME`.
    ApiDomain {
        /// Its region.
        region: String,
        /// The domain name.
        name: String,
    },
    /// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/…`: one of its listeners.
    LoadBalancer {
        /// Its region.
        region: String,
        /// The load balancer ARN.
        arn: String,
    },
    /// Anything else (App Runner, Elastic Beanstalk, …): listed, never moved.
    Other(String),
}

/// What `arn` (one of a certificate's `InUseBy`) names.
pub fn classify(arn: &str) -> Use {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, service, region, account, resource] = parts[..] else {
        return Use::Other(arn.to_string());
    };
    match service {
        "cloudfront" => match resource.strip_prefix("distribution/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Use::Distribution {
                account: account.to_string(),
                id: id.to_string(),
            },
            _ => Use::Other(arn.to_string()),
        },
        "apigateway" => match resource.strip_prefix("/domainnames/") {
            Some(name) if !name.is_empty() && !name.contains('/') && !region.is_empty() => {
                Use::ApiDomain {
                    region: region.to_string(),
                    name: name.to_string(),
                }
            }
            _ => Use::Other(arn.to_string()),
        },
        "elasticloadbalancing" if resource.starts_with("loadbalancer/") && !region.is_empty() => {
            Use::LoadBalancer {
                region: region.to_string(),
                arn: arn.to_string(),
            }
        }
        _ => Use::Other(arn.to_string()),
    }
}

/// One consumer of one certificate (a listener with two of them is two rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundConsumer {
    /// `cloudfront`, `api_gateway`, `listener`, or `other` (what the rotator cannot move).
    pub kind: &'static str,
    /// What names it: the distribution ID, the API Gateway domain name, the listener ARN, or
    /// the `InUseBy` ARN of another kind.
    pub id: String,
    /// The account (12 digits) whose certificate it uses.
    pub account: String,
    /// The consumer's region (us-east-1 for CloudFront).
    pub region: String,
    /// The role it was reached through; absent for the caller's own account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The names it serves (a listener: its certificate's).
    pub names: Vec<String>,
    /// The name a target of it would verify (`domain:`): the first of `names` that is not a
    /// wildcard; `null` when there is none.
    pub domain: Option<String>,
    /// The certificate.
    pub certificate_arn: String,
    /// That certificate's expiry.
    #[serde(serialize_with = "crate::format::rfc3339_or_null")]
    pub not_after: Option<DateTime<Utc>>,
    /// Whether the configuration (`-c`) already has a target for it.
    pub managed: bool,
    /// Why the rotator cannot take it as it is, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The consumer a target would name; `None` when it cannot be one.
    #[serde(skip)]
    pub consumer: Option<Consumer>,
    /// Its tags (`discovery.manage_tagged` reads them).
    #[serde(skip)]
    pub tags: BTreeMap<String, String>,
}

impl FoundConsumer {
    /// A row for `consumer` (`None`: a kind the rotator cannot move) that serves `names`.
    pub fn new(consumer: Option<Consumer>, id: &str, region: &str, names: Vec<String>) -> Self {
        let domain = names.iter().find(|n| !n.starts_with("*.")).cloned();
        let note = match (&consumer, &domain) {
            (None, _) => Some("the rotator cannot move this kind of consumer".to_string()),
            (Some(_), None) if names.is_empty() => Some("it serves no name".to_string()),
            (Some(_), None) => Some(
                "its names are wildcards only: write the hostname clients use as `domain:`"
                    .to_string(),
            ),
            _ => None,
        };
        FoundConsumer {
            kind: consumer.as_ref().map_or("other", |c| c.kind().label()),
            id: id.to_string(),
            account: String::new(),
            region: region.to_string(),
            role_arn: None,
            names,
            domain,
            certificate_arn: String::new(),
            not_after: None,
            managed: false,
            note,
            consumer,
            tags: BTreeMap::new(),
        }
    }

    /// Whether a fleet entry or a tagged target can be written for it.
    pub fn can_be_target(&self) -> bool {
        self.consumer.is_some() && self.note.is_none()
    }

    /// What identifies it among targets: (kind, consumer ID, region).
    fn key(&self) -> Option<(ConsumerKind, &str, &str)> {
        let consumer = self.consumer.as_ref()?;
        Some((consumer.kind(), self.id.as_str(), self.region.as_str()))
    }

    /// The `domains:` entry of a fleet file, with the account and certificate as a comment
    /// (and `role_arn` when `with_role`); an entry that cannot be a target is a comment that
    /// says why.
    pub fn fleet_entry(&self, with_role: bool) -> String {
        let cert = match self.not_after {
            Some(t) => format!(
                "certificate {} expires {}",
                arn_tail(&self.certificate_arn),
                rfc3339(&t)
            ),
            None => format!("certificate {}", arn_tail(&self.certificate_arn)),
        };
        let mut out = format!(
            "  # account {}, {} {}: {cert}\n",
            self.account, self.kind, self.id
        );
        let (Some(consumer), Some(domain), true) =
            (&self.consumer, &self.domain, self.note.is_none())
        else {
            let why = self.note.as_deref().unwrap_or("it cannot be a target");
            let _ = writeln!(out, "  # not written: {why}");
            return out;
        };
        let _ = writeln!(out, "  - domain: {domain}");
        let _ = match consumer {
            Consumer::UserPool { id } => writeln!(out, "    user_pool_id: {id}"),
            Consumer::Distribution { id } => writeln!(out, "    cloudfront_distribution_id: {id}"),
            Consumer::ApiDomain => writeln!(out, "    api_gateway_region: {}", self.region),
            Consumer::Listener { arn } => writeln!(out, "    listener_arn: {arn}"),
        };
        if let (true, Some(role)) = (with_role, &self.role_arn) {
            let _ = writeln!(out, "    role_arn: {role}");
        }
        out
    }

    /// The target `discovery.manage_tagged` makes of it (`None` when it cannot be one).
    pub fn target(&self, template: Target) -> Option<Target> {
        if !self.can_be_target() {
            return None;
        }
        Some(Target {
            domain: self.domain.clone()?,
            consumer: self.consumer.clone()?,
            region: self.region.clone(),
            source: format!(
                "discovered in account {} ({} {})",
                self.account, self.kind, self.id
            ),
            ..template
        })
    }
}

/// The (kind, consumer ID, region) of every target, to tell which found consumers are
/// managed.
pub fn managed_keys(targets: &[Target]) -> BTreeSet<(ConsumerKind, String, String)> {
    targets
        .iter()
        .map(|t| (t.kind(), t.consumer_id().to_string(), t.region.clone()))
        .collect()
}

/// Whether `found` is among `keys` ([`managed_keys`]).
pub fn is_managed(found: &FoundConsumer, keys: &BTreeSet<(ConsumerKind, String, String)>) -> bool {
    found.key().is_some_and(|(kind, id, region)| {
        keys.contains(&(kind, id.to_string(), region.to_string()))
    })
}

/// The consumers' table of `--output text` (nothing when there are none).
pub fn table(found: &[FoundConsumer], now: DateTime<Utc>) -> String {
    if found.is_empty() {
        return String::new();
    }
    let header = [
        "KIND",
        "CONSUMER",
        "ACCOUNT",
        "REGION",
        "NAMES",
        "CERTIFICATE",
        "DAYS",
        "MANAGED",
    ];
    let rows: Vec<[String; 8]> = found
        .iter()
        .map(|c| {
            [
                c.kind.to_string(),
                short_id(c),
                c.account.clone(),
                c.region.clone(),
                if c.names.is_empty() {
                    "-".to_string()
                } else {
                    c.names.join(",")
                },
                arn_tail(&c.certificate_arn).to_string(),
                c.not_after
                    .map_or("?".to_string(), |t| (t - now).num_days().to_string()),
                match (c.managed, c.can_be_target()) {
                    (true, _) => "yes",
                    (false, true) => "no",
                    (false, false) => "cannot",
                }
                .to_string(),
            ]
        })
        .collect();
    format!("\n{}", crate::format::table(&header, &rows))
}

/// A listener's or other consumer's ARN shortened to its resource part for the table (JSON
/// keeps it whole).
fn short_id(c: &FoundConsumer) -> String {
    match c.id.splitn(6, ':').nth(5) {
        Some(resource) if c.id.starts_with("arn:") => resource.to_string(),
        _ => c.id.clone(),
    }
}

#[cfg(test)]
mod tests;
