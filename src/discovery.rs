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

pub mod scan;

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
    #[serde(serialize_with = "time_or_null")]
    pub not_after: Option<DateTime<Utc>>,
    /// Whether the configuration (`-c`) already manages it.
    pub managed: bool,
    /// The user pool's tags (`discovery.manage_tagged` reads them).
    #[serde(skip)]
    pub tags: BTreeMap<String, String>,
}

fn time_or_null<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(t)),
        None => s.serialize_none(),
    }
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
        self.errors.sort_by(|a, b| {
            (&a.account, &a.region, &a.error).cmp(&(&b.account, &b.region, &b.error))
        });
    }

    /// `N custom domains in A accounts and R regions; M not managed; K scopes failed`.
    pub fn summary(&self) -> String {
        let accounts: BTreeSet<&str> = self.domains.iter().map(|d| d.account.as_str()).collect();
        let regions: BTreeSet<&str> = self.domains.iter().map(|d| d.region.as_str()).collect();
        let unmanaged = self.domains.iter().filter(|d| !d.managed).count();
        format!(
            "{} custom domains in {} accounts and {} regions; {unmanaged} not managed; {} scopes failed",
            self.domains.len(),
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
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &[&str]| {
            let text: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", text.join("  ").trim_end());
        };
        line(&mut out, &header);
        for row in &rows {
            line(&mut out, &row.each_ref().map(String::as_str));
        }
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
        let mut out = format!(
            "# Found by `cognito-cert-rotator discover` at {}: {} custom domain(s) not managed yet.\n",
            rfc3339(&now),
            unmanaged.len()
        );
        out.push_str(&domains_yaml(&unmanaged, true));
        out
    }

    /// `--write DIR`: one fleet file per account (`<account>.yaml`) of its domains not managed
    /// yet, with the account's role as `defaults:`.
    pub fn fleet_files(&self, now: DateTime<Utc>) -> BTreeMap<String, String> {
        let mut by_account: BTreeMap<&str, Vec<&Found>> = BTreeMap::new();
        for d in self.domains.iter().filter(|d| !d.managed) {
            by_account.entry(d.account.as_str()).or_default().push(d);
        }
        by_account
            .into_iter()
            .map(|(account, found)| {
                let mut text = format!(
                    "# Account {account}, found by `cognito-cert-rotator discover` at {}: {} custom domain(s) not managed yet.\n",
                    rfc3339(&now),
                    found.len()
                );
                if let Some(role) = found.first().and_then(|f| f.role_arn.as_deref()) {
                    let _ = writeln!(text, "defaults:\n  role_arn: {role}");
                }
                text.push_str(&domains_yaml(&found, false));
                (account.to_string(), text)
            })
            .collect()
    }
}

/// `domains:` with one entry per found domain (and its `role_arn` when `with_role`), each with
/// its certificate's expiry as a comment.
fn domains_yaml(found: &[&Found], with_role: bool) -> String {
    if found.is_empty() {
        return "domains: []\n".to_string();
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
    out
}

/// What `discovery:` makes of a scan: the targets of the pools carrying every
/// `manage_tagged` tag (with the top-level defaults; a domain listed under `domains:` keeps
/// its entry), and the custom domains found but neither listed nor tagged.
pub fn tagged(
    found: &[Found],
    settings: &DiscoverySettings,
    listed: &[Target],
) -> (Vec<Target>, Vec<Found>) {
    let listed: BTreeSet<&str> = listed.iter().map(|t| t.domain.as_str()).collect();
    let tag = settings
        .manage_tagged
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut targets = Vec::new();
    let mut unmanaged = Vec::new();
    for f in found {
        if listed.contains(f.domain.as_str()) {
            continue;
        }
        let carries = settings
            .manage_tagged
            .iter()
            .all(|(k, v)| f.tags.get(k) == Some(v));
        if !carries {
            unmanaged.push(f.clone());
            continue;
        }
        targets.push(Target {
            domain: f.domain.clone(),
            consumer: crate::model::Consumer::UserPool {
                id: f.user_pool_id.clone(),
            },
            region: f.region.clone(),
            min_validity: settings.min_validity,
            require_tags: BTreeMap::new(),
            role: f.role_arn.as_ref().map(|arn| RoleSpec {
                role_arn: RoleArn {
                    arn: arn.clone(),
                    account: f.account.clone(),
                },
                external_id: None,
            }),
            policy: settings.policy.clone(),
            discovered: Some(format!("tag {tag}")),
            source: format!("discovered in account {} ({})", f.account, f.region),
        });
    }
    (targets, unmanaged)
}

#[cfg(test)]
mod tests;
