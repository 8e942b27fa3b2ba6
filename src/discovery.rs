//! PURE: `discover`'s findings — every Cognito custom domain across accounts and regions, as
//! a table, JSON, or a fleet file of the domains not managed yet. The scan that finds them
//! (read-only) is [`scan`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::model::{DiscoverySettings, RoleSpec, Target};
use crate::config::values::RoleArn;
use crate::format::rfc3339;
use crate::model::arn_tail;

pub mod consumers;
pub mod scan;

pub use consumers::FoundConsumer;

pub use crate::model::COGNITO_REGIONS;

/// One custom domain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The custom domain.
    pub domain: String,
    /// Its user pool.
    pub user_pool_id: String,
    /// The account (12 digits).
    pub account: String,
    /// The user pool's region.
    pub region: String,
    /// The role it was reached through; absent for the caller's own account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The certificate the domain uses.
    pub certificate_arn: Option<String>,
    /// That certificate's expiry, from the account's ACM listing in us-east-1.
    #[serde(serialize_with = "crate::format::rfc3339_or_null")]
    pub not_after: Option<DateTime<Utc>>,
    /// Whether the configuration (`-c`) already manages it.
    pub managed: bool,
    /// The user pool's tags (`discovery.manage_tagged` reads them).
    #[serde(skip)]
    pub tags: BTreeMap<String, String>,
}

/// A scope (an account, or one of its regions) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeError {
    /// The account (12 digits), or the role when its account is unknown.
    pub account: String,
    /// The region; absent when the whole account failed (its role cannot be assumed).
    pub region: Option<String>,
    /// Why, in one line.
    pub error: String,
}

/// Everything one `discover` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The custom domains, sorted by domain.
    pub domains: Vec<Found>,
    /// The other consumers of the certificates seen (ACM's `InUseBy`), sorted by kind and ID.
    pub consumers: Vec<FoundConsumer>,
    /// The scopes that failed.
    pub errors: Vec<ScopeError>,
    /// Account-regions read (for the summary).
    #[serde(skip)]
    pub scopes_read: BTreeSet<(String, String)>,
}

impl Discovery {
    /// Sort the domains and errors, so the output never depends on timing.
    pub fn sort(&mut self) {
        self.domains
            .sort_by(|a, b| (&a.domain, &a.account).cmp(&(&b.domain, &b.account)));
        self.consumers.sort_by(|a, b| {
            (a.kind, &a.id, &a.certificate_arn).cmp(&(b.kind, &b.id, &b.certificate_arn))
        });
        self.errors.sort_by(|a, b| {
            (&a.account, &a.region, &a.error).cmp(&(&b.account, &b.region, &b.error))
        });
    }

    /// One entry per domain: a consumer whose `domain` is already a target's (`taken`: the
    /// configuration's), a custom domain's or an earlier consumer's (in sorted order: an API
    /// Gateway domain, then a distribution, then a listener — the origin behind CloudFront
    /// usually has the distribution's name) cannot be a target as well, and says so.
    pub fn settle_domains(&mut self, mut taken: BTreeSet<String>) {
        taken.extend(self.domains.iter().map(|d| d.domain.clone()));
        for c in self
            .consumers
            .iter_mut()
            .filter(|c| !c.managed && c.note.is_none())
        {
            let Some(domain) = &c.domain else {
                continue;
            };
            if !taken.insert(domain.clone()) {
                c.note = Some(format!(
                    "{domain} is already the domain of another entry (one entry per domain)"
                ));
            }
        }
    }

    /// `N custom domains and C other consumers in A accounts and R regions; M not managed; K
    /// scopes failed`.
    pub fn summary(&self) -> String {
        let accounts: BTreeSet<&str> = self
            .domains
            .iter()
            .map(|d| d.account.as_str())
            .chain(self.consumers.iter().map(|c| c.account.as_str()))
            .collect();
        let regions: BTreeSet<&str> = self
            .domains
            .iter()
            .map(|d| d.region.as_str())
            .chain(self.consumers.iter().map(|c| c.region.as_str()))
            .collect();
        let unmanaged = self.domains.iter().filter(|d| !d.managed).count()
            + self.consumers.iter().filter(|c| !c.managed).count();
        format!(
            "{} custom domains and {} other consumers in {} accounts and {} regions; {unmanaged} not managed; {} scopes failed",
            self.domains.len(),
            self.consumers.len(),
            accounts.len(),
            regions.len(),
            self.errors.len()
        )
    }

    /// The table `--output text` prints, with the summary and the failed scopes.
    pub fn text(&self, now: DateTime<Utc>) -> String {
        let header = [
            "DOMAIN",
            "USER POOL",
            "ACCOUNT",
            "REGION",
            "CERTIFICATE",
            "DAYS",
            "MANAGED",
        ];
        let rows: Vec<[String; 7]> = self
            .domains
            .iter()
            .map(|d| {
                [
                    d.domain.clone(),
                    d.user_pool_id.clone(),
                    d.account.clone(),
                    d.region.clone(),
                    d.certificate_arn
                        .as_deref()
                        .map_or("-".to_string(), |a| arn_tail(a).to_string()),
                    d.not_after
                        .map_or("?".to_string(), |t| (t - now).num_days().to_string()),
                    if d.managed { "yes" } else { "no" }.to_string(),
                ]
            })
            .collect();
        let mut out = crate::format::table(&header, &rows);
        out.push_str(&consumers::table(&self.consumers, now));
        for e in &self.errors {
            let _ = writeln!(
                out,
                "! {} {}: {}",
                e.account,
                e.region.as_deref().unwrap_or("(every region)"),
                e.error
            );
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    /// `--output yaml`: a fleet file of the domains not managed yet, ready to `include:`.
    pub fn fleet_yaml(&self, now: DateTime<Utc>) -> String {
        let unmanaged: Vec<&Found> = self.domains.iter().filter(|d| !d.managed).collect();
        let others: Vec<&FoundConsumer> = self.consumers.iter().filter(|c| !c.managed).collect();
        let mut out = format!(
            "# Found by `cognito-cert-rotator discover` at {}: {} custom domain(s) and {} other consumer(s) not managed yet.\n",
            rfc3339(&now),
            unmanaged.len(),
            others.len()
        );
        out.push_str(&domains_yaml(&unmanaged, &others, true));
        out
    }

    /// `--write DIR`: one fleet file per account (`<account>.yaml`) of its domains not managed
    /// yet, with the account's role as `defaults:`.
    pub fn fleet_files(&self, now: DateTime<Utc>) -> BTreeMap<String, String> {
        type Unmanaged<'a> = (Vec<&'a Found>, Vec<&'a FoundConsumer>);
        let mut by_account: BTreeMap<&str, Unmanaged> = BTreeMap::new();
        for d in self.domains.iter().filter(|d| !d.managed) {
            by_account.entry(d.account.as_str()).or_default().0.push(d);
        }
        for c in self.consumers.iter().filter(|c| !c.managed) {
            by_account.entry(c.account.as_str()).or_default().1.push(c);
        }
        by_account
            .into_iter()
            .map(|(account, (found, others))| {
                let mut text = format!(
                    "# Account {account}, found by `cognito-cert-rotator discover` at {}: {} custom domain(s) and {} other consumer(s) not managed yet.\n",
                    rfc3339(&now),
                    found.len(),
                    others.len()
                );
                let role = found
                    .first()
                    .and_then(|f| f.role_arn.as_deref())
                    .or_else(|| others.first().and_then(|c| c.role_arn.as_deref()));
                if let Some(role) = role {
                    let _ = writeln!(text, "defaults:\n  role_arn: {role}");
                }
                text.push_str(&domains_yaml(&found, &others, false));
                (account.to_string(), text)
            })
            .collect()
    }
}

/// `domains:` with one entry per found domain and consumer (and its `role_arn` when
/// `with_role`), each with its certificate's expiry as a comment.
fn domains_yaml(found: &[&Found], others: &[&FoundConsumer], with_role: bool) -> String {
    if found.is_empty() && !others.iter().any(|c| c.can_be_target()) {
        let mut out = "domains: []\n".to_string();
        for c in others {
            out.push_str(&c.fleet_entry(with_role));
        }
        return out;
    }
    let mut out = "domains:\n".to_string();
    for f in found {
        let cert = match (&f.certificate_arn, f.not_after) {
            (Some(a), Some(t)) => format!("certificate {} expires {}", arn_tail(a), rfc3339(&t)),
            (Some(a), None) => format!("certificate {} (expiry unknown)", arn_tail(a)),
            (None, _) => "no certificate".to_string(),
        };
        let _ = writeln!(
            out,
            "  # account {}, {}: {cert}\n  - domain: {}\n    user_pool_id: {}",
            f.account, f.region, f.domain, f.user_pool_id
        );
        if let (true, Some(role)) = (with_role, &f.role_arn) {
            let _ = writeln!(out, "    role_arn: {role}");
        }
    }
    for c in others {
        out.push_str(&c.fleet_entry(with_role));
    }
    out
}

/// What `discovery:` makes of a scan: the targets of the user pools and consumers carrying
/// every `manage_tagged` tag (with the top-level defaults; a domain listed under `domains:`
/// keeps its entry), and what was found but neither listed nor tagged.
pub fn tagged(found: &Discovery, settings: &DiscoverySettings, listed: &[Target]) -> Tagging {
    let names: BTreeSet<&str> = listed.iter().map(|t| t.domain.as_str()).collect();
    let keys = consumers::managed_keys(listed);
    let tag = settings
        .manage_tagged
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let carries = |tags: &BTreeMap<String, String>| {
        settings
            .manage_tagged
            .iter()
            .all(|(k, v)| tags.get(k) == Some(v))
    };
    let template =
        |account: &str, role_arn: Option<&String>| template(settings, &tag, account, role_arn);
    let mut out = Tagging::default();
    for f in &found.domains {
        if names.contains(f.domain.as_str()) {
            continue;
        }
        if !carries(&f.tags) {
            out.unmanaged.push(f.clone());
            continue;
        }
        out.targets.push(Target {
            domain: f.domain.clone(),
            consumer: crate::model::Consumer::UserPool {
                id: f.user_pool_id.clone(),
            },
            region: f.region.clone(),
            source: format!("discovered in account {} ({})", f.account, f.region),
            ..template(&f.account, f.role_arn.as_ref())
        });
    }
    for c in &found.consumers {
        if consumers::is_managed(c, &keys) {
            continue;
        }
        let target = carries(&c.tags)
            .then(|| c.target(template(&c.account, c.role_arn.as_ref())))
            .flatten();
        match target {
            // Two certificates of one consumer are one target.
            Some(t)
                if !out
                    .targets
                    .iter()
                    .any(|o| o.consumer == t.consumer && o.region == t.region) =>
            {
                out.targets.push(t)
            }
            Some(_) => {}
            None => out.unmanaged_consumers.push(c.clone()),
        }
    }
    out
}

/// A discovered target's settings (the top-level defaults), its domain and consumer left to
/// fill in.
fn template(
    settings: &DiscoverySettings,
    tag: &str,
    account: &str,
    role_arn: Option<&String>,
) -> Target {
    Target {
        domain: String::new(),
        consumer: crate::model::Consumer::ApiDomain,
        region: String::new(),
        min_validity: settings.min_validity,
        require_tags: BTreeMap::new(),
        role: role_arn.map(|arn| RoleSpec {
            role_arn: RoleArn {
                arn: arn.clone(),
                account: account.to_string(),
            },
            external_id: None,
        }),
        policy: settings.policy.clone(),
        discovered: Some(format!("tag {tag}")),
        source: String::new(),
    }
}

/// What [`tagged`] makes of a scan.
#[derive(Debug, Clone, Default)]
pub struct Tagging {
    /// The targets of the tagged user pools and consumers not listed under `domains:`.
    pub targets: Vec<Target>,
    /// Custom domains found but neither listed nor tagged.
    pub unmanaged: Vec<Found>,
    /// Other consumers found but neither listed nor tagged.
    pub unmanaged_consumers: Vec<FoundConsumer>,
}

#[cfg(test)]
mod tests;
