//! An ACM certificate as the decision logic sees it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// An ACM certificate as the decision logic sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Its ARN (the certificate ID is the last segment).
    pub arn: String,
    /// `DomainName` (the subject's primary name).
    pub domain_name: String,
    /// Subject alternative names known so far (may include `domain_name`).
    pub sans: Vec<String>,
    /// False when ACM said there are more SANs than the list summary carries
    /// (`HasAdditionalSubjectAlternativeNames`): only `DescribeCertificate` has them all.
    pub sans_complete: bool,
    /// `Status` as ACM spells it (`ISSUED`, `EXPIRED`, ...).
    pub status: Label,
    /// `Type`: `IMPORTED`, `AMAZON_ISSUED` (renewed by ACM) or `PRIVATE`.
    pub cert_type: Label,
    /// Key algorithm normalised to the underscore form (`RSA_2048`, `EC_prime256v1`).
    pub key_algorithm: Label,
    /// Start of validity.
    pub not_before: Option<DateTime<Utc>>,
    /// End of validity.
    pub not_after: Option<DateTime<Utc>>,
    /// When it was issued or imported (the later known of IssuedAt/ImportedAt/CreatedAt).
    pub issued_at: Option<DateTime<Utc>>,
    /// Tags, when they were read (`None`: not read, because no target requires any).
    pub tags: Option<BTreeMap<String, String>>,
}

/// One of ACM's enumerated values (a status, a type, a key algorithm). The known ones are
/// static, so the thousands of certificates a scan keeps share them instead of each holding
/// three small strings; an unknown value is kept as it came.
pub type Label = std::borrow::Cow<'static, str>;

/// The values [`label`] knows.
const KNOWN_LABELS: &[&str] = &[
    "ISSUED",
    "PENDING_VALIDATION",
    "INACTIVE",
    "EXPIRED",
    "VALIDATION_TIMED_OUT",
    "REVOKED",
    "FAILED",
    "UNKNOWN",
    "IMPORTED",
    "AMAZON_ISSUED",
    "PRIVATE",
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
    "",
];

/// `value` as a [`Label`]: static when it is a known one.
pub fn label(value: &str) -> Label {
    match KNOWN_LABELS.iter().find(|k| **k == value) {
        Some(known) => Label::Borrowed(known),
        None => Label::Owned(value.to_string()),
    }
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

/// How long before expiry ACM starts renewing an AMAZON_ISSUED certificate (60 days): inside
/// that window its `RenewalSummary` says whether the renewal will happen.
pub const MANAGED_RENEWAL_WINDOW: chrono::Duration = chrono::Duration::days(60);

impl Certificate {
    /// Whether ACM lists it as ISSUED (the only status a domain can use).
    pub fn is_issued(&self) -> bool {
        self.status == "ISSUED"
    }

    /// Whether ACM issued it (and so renews it itself), rather than it being imported.
    pub fn is_amazon_issued(&self) -> bool {
        self.cert_type == "AMAZON_ISSUED"
    }

    /// Whether ACM renews this certificate itself and it is inside its renewal window at
    /// `now`: only then is its `RenewalSummary` worth a DescribeCertificate.
    pub fn in_managed_renewal(&self, now: DateTime<Utc>) -> bool {
        self.is_amazon_issued()
            && self
                .not_after
                .is_some_and(|t| t - now <= MANAGED_RENEWAL_WINDOW)
    }
}
