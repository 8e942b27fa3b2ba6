//! Why selection refuses to act on a target: the typed reasons of an `Error` decision.

use crate::model::DomainStatus;

use super::eligible::Ineligible;

/// Why a target's decision is an error: nothing safe to do, a person is needed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Cognito has no such domain in the user pool's region.
    #[error("Cognito has no domain {domain} in this region; check the domain name and that the user pool ID names the right region")]
    NoDomain {
        /// The configured domain.
        domain: String,
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

fn current_unusable(current: &Option<Ineligible>) -> String {
    match current {
        Some(why) => {
            format!(": the current one is not usable ({why}) and no other qualifies")
        }
        None => String::new(),
    }
}
