//! Test fixtures shared by the unit tests of several modules: a target, a certificate and a
//! domain with the fields each test does not care about filled in.

use chrono::{DateTime, Utc};

use crate::config::Target;
use crate::model::{Certificate, DomainInfo, MinValidity};

/// `domain` in user pool us-east-1_A, no minimum validity, no tags, default credentials.
pub fn target(domain: &str) -> Target {
    Target {
        domain: domain.into(),
        consumer: crate::model::Consumer::UserPool {
            id: "us-east-1_A".into(),
        },
        region: "us-east-1".into(),
        min_validity: MinValidity::NONE,
        require_tags: Default::default(),
        role: None,
        policy: Default::default(),
        discovered: None,
        source: "config.yaml:1".into(),
    }
}

/// An issued, imported RSA certificate for auth.example.com, valid (and issued) from
/// `not_before` to `not_after`.
pub fn certificate(arn: &str, not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> Certificate {
    Certificate {
        arn: arn.into(),
        domain_name: "auth.example.com".into(),
        sans: vec![],
        sans_complete: true,
        status: "ISSUED".into(),
        cert_type: "IMPORTED".into(),
        key_algorithm: "RSA_2048".into(),
        not_before: Some(not_before),
        not_after: Some(not_after),
        issued_at: Some(not_before),
        tags: None,
    }
}

/// An ACTIVE domain of `user_pool_id` on `certificate_arn`, with no other setting.
pub fn domain(user_pool_id: &str, certificate_arn: Option<&str>) -> DomainInfo {
    DomainInfo {
        owner: user_pool_id.into(),
        certificate_region: crate::model::CERTIFICATE_REGION.to_string(),
        api_endpoint: None,
        listener: None,
        status: "ACTIVE".into(),
        certificate_arn: certificate_arn.map(str::to_string),
        security_policy: None,
        managed_login_version: None,
        failover: None,
        cloudfront_distribution: None,
    }
}
