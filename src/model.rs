//! Plain data shared by the AWS adapters (which produce it) and the decision logic (which
//! consumes it). No SDK types leak past this point.

use chrono::{DateTime, Utc};

use crate::format::fmt_duration;

mod certificate;
mod consumer;
mod listener;
mod notice;
mod pool;
mod seen;
pub use certificate::{arn_tail, label, Certificate, Label, MANAGED_RENEWAL_WINDOW};
pub use consumer::{listener_region, Consumer, ConsumerKind};
pub use listener::ListenerCertificates;
pub use notice::NoticeKind;
pub use pool::{UserPool, COGNITO_REGIONS};
pub use seen::Seen;

/// The region whose certificates CloudFront serves: Cognito custom domains, distributions and
/// edge-optimized API Gateway domains take their certificates from it.
pub const CERTIFICATE_REGION: &str = "us-east-1";

/// Key algorithms CloudFront serves, in ACM's underscore spelling.
pub const CLOUDFRONT_KEY_ALGORITHMS: &[&str] = &[
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
];

/// Normalise an ACM key algorithm: responses say `RSA-2048`, the filter says `RSA_2048`.
pub fn normalize_key_algorithm(raw: &str) -> String {
    raw.replace('-', "_")
}

/// What the consumer's service says about a domain (`DescribeUserPoolDomain`, `GetDistribution`,
/// `GetDomainName`).
// One per target per pass, moved rarely: boxing the description would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainView {
    /// The service does not have it (Cognito's empty description, no such distribution or alias,
    /// no such API Gateway domain name in the region).
    Missing,
    /// The domain exists.
    Present(DomainInfo),
}

/// `DomainDescription.Status`: where a domain's last change stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainStatus {
    /// Being created.
    Creating,
    /// Being deleted: nothing may be swapped onto it.
    Deleting,
    /// A change is reaching CloudFront.
    Updating,
    /// Serving; a change may be made.
    Active,
    /// Its last change failed: it needs a person.
    Failed,
    /// A value this version does not know, as Cognito wrote it.
    Other(String),
}

impl DomainStatus {
    /// Whether the domain cannot take a swap until a person looks at it.
    pub fn needs_a_person(&self) -> bool {
        matches!(self, DomainStatus::Failed | DomainStatus::Deleting)
    }
}

impl From<&str> for DomainStatus {
    fn from(text: &str) -> DomainStatus {
        match text {
            "CREATING" => DomainStatus::Creating,
            "DELETING" => DomainStatus::Deleting,
            "UPDATING" => DomainStatus::Updating,
            "ACTIVE" => DomainStatus::Active,
            "FAILED" => DomainStatus::Failed,
            other => DomainStatus::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for DomainStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DomainStatus::Creating => "CREATING",
            DomainStatus::Deleting => "DELETING",
            DomainStatus::Updating => "UPDATING",
            DomainStatus::Active => "ACTIVE",
            DomainStatus::Failed => "FAILED",
            DomainStatus::Other(text) => text,
        })
    }
}

/// A domain as the consumer serving it describes it: a user pool domain (Cognito), a
/// distribution (CloudFront), a custom domain name (API Gateway), a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInfo {
    /// What owns the domain as its service names it: the user pool ID (Cognito), or the
    /// configured consumer's ID (the other kinds are read by that ID).
    pub owner: String,
    /// Where the domain's last change stands (CloudFront `Deployed` and API Gateway
    /// `AVAILABLE` are `Active`; `InProgress` and `UPDATING` are `Updating`).
    pub status: DomainStatus,
    /// The ACM certificate it serves (`CustomDomainConfig.CertificateArn`,
    /// `ViewerCertificate.ACMCertificateArn`, …); `None` for a prefix domain or a distribution
    /// on CloudFront's default certificate.
    pub certificate_arn: Option<String>,
    /// The region its certificates must come from: us-east-1 for what CloudFront serves, the
    /// API Gateway domain's or listener's own region otherwise.
    pub certificate_region: String,
    /// An API Gateway domain's endpoint type (which certificate field it serves).
    pub api_endpoint: Option<ApiEndpoint>,
    /// A listener's default certificate and SNI list (`certificate_arn` is the one of them it
    /// serves the domain with).
    pub listener: Option<ListenerCertificates>,
    /// `CustomDomainConfig.SecurityPolicy`, sent back unchanged on update.
    pub security_policy: Option<String>,
    /// `ManagedLoginVersion`, sent back unchanged on update.
    pub managed_login_version: Option<i32>,
    /// `Routing.Failover` of a multi-region user pool, sent back unchanged on update.
    pub failover: Option<Failover>,
    /// `CloudFrontDistribution`.
    pub cloudfront_distribution: Option<String>,
}

/// An API Gateway custom domain name's endpoint type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiEndpoint {
    /// Edge-optimized: `certificateArn`, from us-east-1, served through CloudFront.
    Edge,
    /// Regional: `regionalCertificateArn`, from the domain's own region.
    Regional,
}

impl DomainInfo {
    /// Whether the consumer holds `arn`: serves the domain with it, or (a listener) has it as
    /// its default or in its SNI list, served or not.
    pub fn holds(&self, arn: &str) -> bool {
        self.certificate_arn.as_deref() == Some(arn)
            || self.listener.as_ref().is_some_and(|l| l.has(arn))
    }

    /// A domain owned by `owner`, ACTIVE, on no certificate yet, whose certificates come
    /// from `certificate_region`; the adapters fill in the rest.
    pub fn of(owner: &str, certificate_region: &str) -> DomainInfo {
        DomainInfo {
            owner: owner.to_string(),
            status: DomainStatus::Active,
            certificate_arn: None,
            certificate_region: certificate_region.to_string(),
            api_endpoint: None,
            listener: None,
            security_policy: None,
            managed_login_version: None,
            failover: None,
            cloudfront_distribution: None,
        }
    }
}

/// `Routing.Failover`: where a multi-region user pool's domain fails over to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    /// `PrimaryRoute53HealthCheckId`.
    pub primary_health_check_id: String,
    /// `SecondaryRegion`.
    pub secondary_region: String,
}

/// The API names of [`DomainInfo::kept_settings`], known before any domain is read (the
/// metrics export them at 0).
pub const KEPT_SETTINGS: &[&str] = &[
    "CustomDomainConfig.SecurityPolicy",
    "ManagedLoginVersion",
    "Routing.Failover",
    "UserPoolId",
];

impl DomainInfo {
    /// Every setting a certificate swap must leave as it is, by its API name, as text:
    /// what is compared after a swap.
    pub fn kept_settings(&self) -> Vec<(&'static str, String)> {
        let or_none = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_string());
        vec![
            (
                "CustomDomainConfig.SecurityPolicy",
                or_none(self.security_policy.clone()),
            ),
            (
                "ManagedLoginVersion",
                or_none(self.managed_login_version.map(|v| v.to_string())),
            ),
            (
                "Routing.Failover",
                or_none(self.failover.as_ref().map(|f| {
                    format!(
                        "health check {}, secondary region {}",
                        f.primary_health_check_id, f.secondary_region
                    )
                })),
            ),
            ("UserPoolId", self.owner.clone()),
        ]
    }

    /// The settings that differ between `self` (before a swap) and `after`, as
    /// `(name, before, after)`.
    pub fn changed_settings(&self, after: &DomainInfo) -> Vec<(&'static str, String, String)> {
        self.kept_settings()
            .into_iter()
            .zip(after.kept_settings())
            .filter(|((_, a), (_, b))| a != b)
            .map(|((name, a), (_, b))| (name, a, b))
            .collect()
    }
}

/// How much validity a candidate must have left: a fixed time from now (`30d`), or a share of
/// its own lifetime, NotBefore → NotAfter (`33%`, as cert-manager's `renewBeforePercentage`),
/// which follows certificates as their lifetimes shrink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinValidity {
    /// At least this long from now.
    Duration(std::time::Duration),
    /// At least this percentage (1–99) of the certificate's lifetime left.
    Percent(u8),
}

impl MinValidity {
    /// The validity a certificate from `not_before` to `not_after` must have left.
    pub fn required(
        &self,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> std::time::Duration {
        match *self {
            MinValidity::Duration(d) => d,
            MinValidity::Percent(p) => {
                let lifetime = (not_after - not_before).to_std().unwrap_or_default();
                lifetime * u32::from(p) / 100
            }
        }
    }

    /// No minimum (a rollback only needs the old certificate usable now).
    pub const NONE: MinValidity = MinValidity::Duration(std::time::Duration::ZERO);
}

impl std::fmt::Display for MinValidity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MinValidity::Duration(d) => f.write_str(&fmt_duration(*d)),
            MinValidity::Percent(p) => write!(f, "{p}% of its lifetime"),
        }
    }
}

/// ACM's `RenewalSummary` of an AMAZON_ISSUED certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedRenewal {
    /// `RenewalStatus`: PENDING_AUTO_RENEWAL, PENDING_VALIDATION, SUCCESS or FAILED.
    pub status: String,
    /// `RenewalStatusReason`, when ACM gives one.
    pub reason: Option<String>,
}

impl ManagedRenewal {
    /// Whether the renewal will not happen on its own: ACM cannot validate the domain
    /// (typically the DNS validation record was removed) or gave up.
    pub fn needs_action(&self) -> bool {
        matches!(self.status.as_str(), "PENDING_VALIDATION" | "FAILED")
    }

    /// One sentence for reports.
    pub fn summary(&self) -> String {
        let reason = self
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!(" ({r})"));
        if self.needs_action() {
            format!(
                "ACM's managed renewal is {}{reason}: it will not renew on its own; check the certificate's DNS validation records",
                self.status
            )
        } else {
            format!("ACM's managed renewal is {}{reason}", self.status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_settings_are_named_in_advance() {
        let d = crate::fixtures::domain("us-east-1_A", None);
        let names: Vec<&str> = d.kept_settings().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, KEPT_SETTINGS);
    }

    #[test]
    fn known_acm_values_are_shared_and_unknown_ones_kept_as_they_came() {
        assert!(matches!(label("ISSUED"), Label::Borrowed("ISSUED")));
        assert!(matches!(label("EC_prime256v1"), Label::Borrowed(_)));
        let new = label("ML_DSA_65");
        assert!(matches!(new, Label::Owned(_)));
        assert_eq!(new, "ML_DSA_65");
    }
}
