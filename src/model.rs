//! Plain data shared by the AWS adapters (which produce it) and the decision logic (which
//! consumes it). No SDK types leak past this point.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// An ACM certificate as the decision logic sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate ARN.
    pub arn: String,
    /// `DomainName` (the subject's primary name).
    pub domain_name: String,
    /// Subject alternative names known so far (may include `domain_name`).
    pub sans: Vec<String>,
    /// False when ACM said there are more SANs than the list summary carries
    /// (`HasAdditionalSubjectAlternativeNames`): only `DescribeCertificate` has them all.
    pub sans_complete: bool,
    /// `Status` as ACM spells it (`ISSUED`, `EXPIRED`, ...).
    pub status: String,
    /// Key algorithm normalised to the underscore form (`RSA_2048`, `EC_prime256v1`).
    pub key_algorithm: String,
    /// Start of validity.
    pub not_before: Option<DateTime<Utc>>,
    /// End of validity.
    pub not_after: Option<DateTime<Utc>>,
    /// When it was issued or imported (the later known of IssuedAt/ImportedAt/CreatedAt).
    pub issued_at: Option<DateTime<Utc>>,
    /// Tags, when they were read (`None`: not read, because no target requires any).
    pub tags: Option<BTreeMap<String, String>>,
}

impl Certificate {
    /// Every name the certificate is known to cover: `DomainName` and the SANs.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.domain_name.as_str()).chain(self.sans.iter().map(String::as_str))
    }

    /// The region part of the ARN (`arn:aws:acm:REGION:ACCOUNT:certificate/ID`).
    pub fn region(&self) -> Option<&str> {
        self.arn.split(':').nth(3)
    }

    /// The last path segment of the ARN, for compact human output.
    pub fn arn_tail(&self) -> &str {
        arn_tail(&self.arn)
    }
}

/// The last `/` segment of an ARN (the certificate ID), or the whole string.
pub fn arn_tail(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// What `DescribeUserPoolDomain` says about a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainView {
    /// Cognito returned an empty description: no such domain in that region.
    Missing,
    /// The domain exists.
    Present(DomainInfo),
}

/// A user pool domain as Cognito describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInfo {
    /// The user pool that owns the domain.
    pub user_pool_id: String,
    /// CREATING, DELETING, UPDATING, ACTIVE or FAILED.
    pub status: String,
    /// `CustomDomainConfig.CertificateArn`; `None` for a prefix domain.
    pub certificate_arn: Option<String>,
    /// `CustomDomainConfig.SecurityPolicy`, sent back unchanged on update.
    pub security_policy: Option<String>,
    /// `ManagedLoginVersion`, sent back unchanged on update.
    pub managed_login_version: Option<i32>,
    /// `CloudFrontDistribution`.
    pub cloudfront_distribution: Option<String>,
}
