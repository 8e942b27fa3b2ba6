//! PURE: the eligibility rules — does a certificate cover the domain, is it issued, in
//! us-east-1, valid long enough, of a key type CloudFront serves, tagged as required and not
//! denylisted — and the sentence for each rule a certificate breaks.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::format::{fmt_duration, rfc3339};
pub use crate::model::{normalize_key_algorithm, CERTIFICATE_REGION, CLOUDFRONT_KEY_ALGORITHMS};
use crate::model::{Certificate, MinValidity};

/// What a target needs from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements<'a> {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: &'a str,
    /// The region its certificates must be in: us-east-1 for what CloudFront serves, the
    /// API Gateway domain's or listener's own region otherwise.
    pub region: &'a str,
    /// How much validity a candidate must have left.
    pub min_validity: MinValidity,
    /// Tags a candidate must carry.
    pub require_tags: &'a BTreeMap<String, String>,
    /// Certificates refused for this domain after a failed verification (ARN → why).
    pub denied: &'a BTreeMap<String, String>,
}

/// Why a certificate cannot be used for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    /// Not ISSUED.
    Status(String),
    /// Not in the region the consumer takes certificates from.
    Region {
        /// Where it is.
        found: String,
        /// Where it must be.
        wanted: String,
    },
    /// Neither DomainName nor any SAN covers the domain.
    DoesNotCover,
    /// Validity has not started.
    NotYetValid(DateTime<Utc>),
    /// Already expired.
    Expired(DateTime<Utc>),
    /// Expires before now + min_validity.
    ExpiresTooSoon {
        /// When it expires.
        not_after: DateTime<Utc>,
        /// `min_validity` as configured for the target.
        min_validity: MinValidity,
        /// What it came to for this certificate.
        required: std::time::Duration,
    },
    /// ACM gave no validity dates.
    NoValidityDates,
    /// A key CloudFront does not serve.
    KeyAlgorithm(String),
    /// A required tag is missing or has another value.
    Tag {
        /// The required tag key.
        key: String,
        /// The value `require_tags` asks for.
        wanted: String,
        /// What the certificate has.
        found: Option<String>,
    },
    /// The certificate could not be found in ACM at all.
    NotFound,
    /// On this domain's denylist (a swap to it failed verification and was rolled back).
    Denied(String),
}

impl fmt::Display for Ineligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ineligible::Status(s) => write!(f, "status is {s}, not ISSUED"),
            Ineligible::Region { found, wanted } if wanted == CERTIFICATE_REGION => write!(
                f,
                "it is in {found}; Cognito custom domains, CloudFront and edge-optimized API Gateway domains accept only certificates in {CERTIFICATE_REGION}"
            ),
            Ineligible::Region { found, wanted } => write!(
                f,
                "it is in {found}; this domain's consumer (a regional API Gateway domain or a listener) takes certificates from its own region, {wanted}"
            ),
            Ineligible::DoesNotCover => {
                write!(f, "neither its domain name nor any of its SANs covers the domain")
            }
            Ineligible::NotYetValid(t) => write!(f, "not valid before {}", rfc3339(t)),
            Ineligible::Expired(t) => write!(f, "expired at {}", rfc3339(t)),
            Ineligible::ExpiresTooSoon {
                not_after,
                min_validity: MinValidity::Duration(d),
                ..
            } => write!(
                f,
                "expires at {}, less than the required {} from now",
                rfc3339(not_after),
                fmt_duration(*d)
            ),
            Ineligible::ExpiresTooSoon {
                not_after,
                min_validity,
                required,
            } => write!(
                f,
                "expires at {}, less than the required {min_validity} ({:.1} days) from now",
                rfc3339(not_after),
                required.as_secs_f64() / 86_400.0
            ),
            Ineligible::NoValidityDates => write!(f, "ACM reports no validity dates for it"),
            Ineligible::KeyAlgorithm(k) => write!(
                f,
                "key algorithm {k} is not served by CloudFront (RSA 1024-4096 or EC prime256v1 only)"
            ),
            Ineligible::Tag {
                key,
                wanted,
                found: None,
            } => write!(f, "required tag {key}={wanted} is missing"),
            Ineligible::Tag {
                key,
                wanted,
                found: Some(v),
            } => write!(f, "required tag {key}={wanted} has value \"{v}\""),
            Ineligible::NotFound => write!(f, "ACM does not know this certificate any more"),
            Ineligible::Denied(why) => write!(
                f,
                "denylisted for this domain ({why}); `cognito-cert-rotator forget <domain>` clears it"
            ),
        }
    }
}

/// Does certificate name `name` cover `domain`? Exact match, or a single-label wildcard
/// (`*.example.com` covers `auth.example.com`, not `a.b.example.com` nor `example.com`).
/// Case-insensitive.
pub fn name_covers(name: &str, domain: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let domain = domain.to_ascii_lowercase();
    if name == domain {
        return true;
    }
    match name.strip_prefix("*.") {
        Some(parent) => match domain.split_once('.') {
            Some((first, rest)) => !first.is_empty() && rest == parent,
            None => false,
        },
        None => false,
    }
}

/// Does the certificate cover the domain with the names known so far?
pub fn covers(cert: &Certificate, domain: &str) -> bool {
    cert.names().any(|n| name_covers(n, domain))
}

/// The names of a set of domains, to tell while paging through ACM which certificates can
/// matter to any of them: the rest of a large account is dropped at once, so memory does not
/// grow with certificates nobody configured.
#[derive(Debug, Clone, Default)]
pub struct Interest {
    domains: std::collections::HashSet<String>,
    parents: std::collections::HashSet<String>,
}

impl Interest {
    /// Interest in these domains.
    pub fn new<'a>(domains: impl IntoIterator<Item = &'a str>) -> Interest {
        let mut interest = Interest::default();
        for d in domains {
            let d = d.to_ascii_lowercase();
            if let Some((_, parent)) = d.split_once('.') {
                interest.parents.insert(parent.to_string());
            }
            interest.domains.insert(d);
        }
        interest
    }

    /// Whether `cert` may cover one of the domains: a name of it does (exactly or as a
    /// single-label wildcard), or its SAN list is truncated (only DescribeCertificate knows).
    pub fn may_matter(&self, cert: &Certificate) -> bool {
        !cert.sans_complete
            || cert.names().any(|n| {
                let n = n.to_ascii_lowercase();
                match n.strip_prefix("*.") {
                    Some(parent) => self.parents.contains(parent),
                    None => self.domains.contains(&n),
                }
            })
    }
}

/// What more must be read about a certificate before [`eligibility`] can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// The SAN list is truncated and the known names do not cover the domain:
    /// `DescribeCertificate` has them all.
    pub full_sans: bool,
    /// The certificate covers the domain and the target requires tags that were not read.
    pub tags: bool,
}

/// What to fetch before deciding; nothing for certificates that cannot matter.
pub fn needs(req: &Requirements<'_>, cert: &Certificate) -> Needs {
    let covered = covers(cert, req.domain);
    Needs {
        full_sans: !covered && !cert.sans_complete,
        tags: covered && !req.require_tags.is_empty() && cert.tags.is_none(),
    }
}

/// Is `cert` eligible for the target at `now`? The first failing rule is the reason.
pub fn eligibility(
    req: &Requirements<'_>,
    cert: &Certificate,
    now: DateTime<Utc>,
) -> Result<(), Ineligible> {
    if !covers(cert, req.domain) {
        return Err(Ineligible::DoesNotCover);
    }
    if let Some(why) = req.denied.get(&cert.arn) {
        return Err(Ineligible::Denied(why.clone()));
    }
    if !cert.is_issued() {
        return Err(Ineligible::Status(cert.status.to_string()));
    }
    match cert.region() {
        Some(r) if r == req.region => {}
        other => {
            return Err(Ineligible::Region {
                found: other.unwrap_or("no region").to_string(),
                wanted: req.region.to_string(),
            })
        }
    }
    let (Some(not_before), Some(not_after)) = (cert.not_before, cert.not_after) else {
        return Err(Ineligible::NoValidityDates);
    };
    if not_before > now {
        return Err(Ineligible::NotYetValid(not_before));
    }
    if not_after <= now {
        return Err(Ineligible::Expired(not_after));
    }
    let required = req.min_validity.required(not_before, not_after);
    let horizon = chrono::Duration::from_std(required)
        .ok()
        .and_then(|d| now.checked_add_signed(d));
    if horizon.is_none_or(|h| not_after <= h) {
        return Err(Ineligible::ExpiresTooSoon {
            not_after,
            min_validity: req.min_validity,
            required,
        });
    }
    let key = normalize_key_algorithm(&cert.key_algorithm);
    if !CLOUDFRONT_KEY_ALGORITHMS.contains(&key.as_str()) {
        return Err(Ineligible::KeyAlgorithm(key));
    }
    for (key, wanted) in req.require_tags {
        let found = cert.tags.as_ref().and_then(|t| t.get(key));
        if found != Some(wanted) {
            return Err(Ineligible::Tag {
                key: key.clone(),
                wanted: wanted.clone(),
                found: found.cloned(),
            });
        }
    }
    Ok(())
}
