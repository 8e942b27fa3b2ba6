//! One entry of `domains:` (or one found by `discovery:`): a domain and the consumer that
//! serves it, with what its swaps must respect.

use std::collections::BTreeMap;
use std::fmt;

use super::values::RoleArn;
use crate::model::{Consumer, ConsumerKind, MinValidity};

/// One custom domain to look after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The custom domain, lowercase.
    pub domain: String,
    /// What serves it: a user pool, a distribution, an API Gateway domain, a listener.
    pub consumer: Consumer,
    /// The consumer's region, where its service is called: the user pool's (from its ID),
    /// us-east-1 for CloudFront, `api_gateway_region`, the listener's (from its ARN).
    pub region: String,
    /// How much validity a candidate must have left (a duration, or a share of its lifetime).
    pub min_validity: MinValidity,
    /// ACM tags a candidate must carry, with these values.
    pub require_tags: BTreeMap<String, String>,
    /// The role to assume for this target's account; `None` = the default credentials.
    pub role: Option<RoleSpec>,
    /// Managed through `discovery:` (`tag KEY=VALUE`), not listed under `domains:`.
    pub discovered: Option<String>,
    /// When its swaps may be made: `windows:`, `freeze:`, `urgent_within:`.
    pub policy: crate::window::ChangePolicy,
    /// Where the entry is written (`file:line`), for messages.
    pub source: String,
}

impl Target {
    /// Its consumer's kind.
    pub fn kind(&self) -> ConsumerKind {
        self.consumer.kind()
    }

    /// The region its certificates come from, when the configuration alone says: us-east-1
    /// for Cognito and CloudFront, a listener's own region; `None` for an API Gateway domain
    /// (us-east-1 when edge-optimized, its own region when regional: known once read).
    pub fn certificate_region(&self) -> Option<&str> {
        match self.kind() {
            ConsumerKind::Cognito | ConsumerKind::CloudFront => {
                Some(crate::model::CERTIFICATE_REGION)
            }
            ConsumerKind::Listener => Some(&self.region),
            ConsumerKind::ApiGateway => None,
        }
    }

    /// What names its consumer to its service (user pool ID, distribution ID, the domain for
    /// API Gateway, listener ARN): logs, metrics, notifications and hooks carry it.
    pub fn consumer_id(&self) -> &str {
        self.consumer.id(&self.domain)
    }
}

/// The role a target's clients assume, and the external ID the role's trust policy asks for.
/// Targets with equal specs share clients, credentials, rate limits and one ACM scan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleSpec {
    /// The role ARN, which names the account.
    pub role_arn: RoleArn,
    /// `sts:ExternalId`, when the trust policy requires one.
    pub external_id: Option<String>,
}

impl fmt::Display for RoleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "account {} via {}",
            self.role_arn.account, self.role_arn.arn
        )
    }
}
