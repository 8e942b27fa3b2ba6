//! Why selection refuses to act on a target: the typed reasons of an `Error` decision.

use crate::model::{ConsumerKind, DomainStatus};

use super::eligible::Ineligible;

/// Why a target's decision is an error: nothing safe to do, a person is needed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The consumer does not serve the domain: Cognito has no such domain in the user pool's
    /// region, the distribution does not exist or lacks the alias, API Gateway has no such
    /// domain name in the region.
    #[error("{}", no_domain(*.kind, .domain, .consumer))]
    NoDomain {
        /// The configured domain.
        domain: String,
        /// The consumer's kind.
        kind: ConsumerKind,
        /// The configured consumer, as a sentence names it.
        consumer: String,
    },
    /// The domain is another user pool's.
    #[error("domain {domain} belongs to user pool {owner}, not {configured} as configured; refusing to touch it")]
    OtherPool {
        /// The configured domain.
        domain: String,
        /// The user pool Cognito says owns it.
        owner: String,
        /// The user pool the configuration names.
        configured: String,
    },
    /// A prefix domain (`*.auth.REGION.amazoncognito.com`): no certificate of its own.
    #[error("{domain} is a prefix domain (no CustomDomainConfig), not a custom domain; nothing to rotate")]
    PrefixDomain {
        /// The configured domain.
        domain: String,
    },
    /// A distribution or API Gateway domain with no ACM certificate (CloudFront's default
    /// certificate, an IAM one): not the rotator's to change.
    #[error("{consumer} serves {domain} without an ACM certificate (CloudFront's default or an IAM certificate); nothing to rotate")]
    NoAcmCertificate {
        /// The configured domain.
        domain: String,
        /// The configured consumer, as a sentence names it.
        consumer: String,
    },
    /// No certificate qualifies, the current one included.
    #[error("no eligible certificate covers {domain}{}", current_unusable(.current))]
    NoEligible {
        /// The configured domain.
        domain: String,
        /// Why the current certificate is not usable (`None` cannot happen: an eligible
        /// current certificate would be the best).
        current: Option<Ineligible>,
    },
    /// A swap is due, but the domain's status needs a person first.
    #[error("would rotate ({reason}), but the domain's status is {status}; it needs a person")]
    NeedsAPerson {
        /// Why it would rotate.
        reason: String,
        /// The domain's status.
        status: DomainStatus,
    },
    /// The target was skipped in this pass (backing off): nothing was read.
    #[error("not observed in this pass")]
    NotObserved,
}

fn no_domain(kind: ConsumerKind, domain: &str, consumer: &str) -> String {
    match kind {
        ConsumerKind::Cognito => format!("Cognito has no domain {domain} in this region; check the domain name and that the user pool ID names the right region"),
        ConsumerKind::CloudFront => format!("{consumer} does not exist or does not have {domain} among its alternate domain names (aliases); check cloudfront_distribution_id"),
        ConsumerKind::ApiGateway => format!("API Gateway has no custom domain name {domain} in this region; check the domain name and api_gateway_region"),
        ConsumerKind::Listener => format!("{consumer} does not exist or serves no certificate; check listener_arn"),
    }
}

fn current_unusable(current: &Option<Ineligible>) -> String {
    match current {
        Some(why) => {
            format!(": the current one is not usable ({why}) and no other qualifies")
        }
        None => String::new(),
    }
}
