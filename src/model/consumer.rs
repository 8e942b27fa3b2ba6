//! What a target moves onto a new certificate: one consumer of an ACM certificate.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four kinds of consumer a target can name, each with one key in `domains:`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerKind {
    /// A Cognito user pool's custom domain (`user_pool_id:`).
    #[default]
    Cognito,
    /// A CloudFront distribution's viewer certificate (`cloudfront_distribution_id:`).
    #[serde(rename = "cloudfront")]
    CloudFront,
    /// An API Gateway custom domain name (`api_gateway_region:`).
    ApiGateway,
    /// A load balancer listener, ALB or NLB (`listener_arn:`).
    Listener,
}

impl ConsumerKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [ConsumerKind; 4] = [
        ConsumerKind::Cognito,
        ConsumerKind::CloudFront,
        ConsumerKind::ApiGateway,
        ConsumerKind::Listener,
    ];

    /// Whether it is Cognito (the kind records leave unwritten).
    pub fn is_cognito(&self) -> bool {
        *self == ConsumerKind::Cognito
    }

    /// The `kind` label of metrics, events and `status --json`.
    pub fn label(self) -> &'static str {
        match self {
            ConsumerKind::Cognito => "cognito",
            ConsumerKind::CloudFront => "cloudfront",
            ConsumerKind::ApiGateway => "api_gateway",
            ConsumerKind::Listener => "listener",
        }
    }

    /// How a sentence names one: "user pool", "CloudFront distribution", "API Gateway
    /// domain", "listener".
    pub fn noun(self) -> &'static str {
        match self {
            ConsumerKind::Cognito => "user pool",
            ConsumerKind::CloudFront => "CloudFront distribution",
            ConsumerKind::ApiGateway => "API Gateway domain",
            ConsumerKind::Listener => "listener",
        }
    }

    /// How a swap reaches clients, for the log line that says it was made.
    pub fn spread(self) -> &'static str {
        match self {
            ConsumerKind::Cognito | ConsumerKind::CloudFront => {
                "CloudFront may take up to an hour to serve it"
            }
            ConsumerKind::ApiGateway => "API Gateway serves it within minutes",
            ConsumerKind::Listener => "the load balancer serves it within a minute",
        }
    }

    /// How long a change takes to reach every client when `verify.window` does not say: an
    /// hour for what CloudFront serves (Cognito custom domains, distributions), 15 minutes
    /// for API Gateway (a regional domain is live in seconds, an edge-optimized one rides
    /// CloudFront but its certificate is swapped in place), 5 minutes for a listener (the
    /// load balancer's nodes take a new certificate list within a minute).
    pub fn default_window(self) -> std::time::Duration {
        const MINUTE: u64 = 60;
        std::time::Duration::from_secs(match self {
            ConsumerKind::Cognito | ConsumerKind::CloudFront => 60 * MINUTE,
            ConsumerKind::ApiGateway => 15 * MINUTE,
            ConsumerKind::Listener => 5 * MINUTE,
        })
    }
}

impl fmt::Display for ConsumerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One consumer of a certificate, as configured.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Consumer {
    /// The custom domain of this user pool (`eu-west-1_AbC123`).
    UserPool {
        /// The user pool ID.
        id: String,
    },
    /// This CloudFront distribution (`E2QWRUHEXAMPLE`), which must have the domain among its
    /// aliases.
    Distribution {
        /// The distribution ID.
        id: String,
    },
    /// The API Gateway custom domain name that is the target's domain, in its region.
    ApiDomain,
    /// This load balancer listener (an HTTPS or TLS listener's ARN).
    Listener {
        /// The listener ARN.
        arn: String,
    },
}

impl Consumer {
    /// Its kind.
    pub fn kind(&self) -> ConsumerKind {
        match self {
            Consumer::UserPool { .. } => ConsumerKind::Cognito,
            Consumer::Distribution { .. } => ConsumerKind::CloudFront,
            Consumer::ApiDomain => ConsumerKind::ApiGateway,
            Consumer::Listener { .. } => ConsumerKind::Listener,
        }
    }

    /// What names it to its service: the user pool ID, the distribution ID, the domain name
    /// (API Gateway names a custom domain by itself) or the listener ARN.
    pub fn id<'a>(&'a self, domain: &'a str) -> &'a str {
        match self {
            Consumer::UserPool { id } | Consumer::Distribution { id } => id,
            Consumer::ApiDomain => domain,
            Consumer::Listener { arn } => arn,
        }
    }

    /// The user pool ID of a Cognito target.
    pub fn user_pool_id(&self) -> Option<&str> {
        match self {
            Consumer::UserPool { id } => Some(id),
            _ => None,
        }
    }

    /// How a person names it: "user pool eu-west-1_AbC", "distribution E2QW…",
    /// "API Gateway domain api.example.com", "listener arn:…".
    pub fn describe(&self, domain: &str) -> String {
        format!("{} {}", self.kind().noun(), self.id(domain))
    }
}

/// The region of a listener ARN (`arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/…`)
/// and whether it has that shape; `None` when it does not.
pub fn listener_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (arn_word, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let listener = resource.strip_prefix("listener/")?;
    let shape_ok = arn_word == "arn"
        && partition.starts_with("aws")
        && service == "elasticloadbalancing"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && listener.split('/').count() == 4
        && listener.split('/').all(|p| !p.is_empty());
    shape_ok.then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_arn_names_its_region() {
        let arn = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";
        assert_eq!(listener_region(arn), Some("eu-west-1"));
        let net = "arn:aws:elasticloadbalancing:us-east-2:111111111111:listener/net/tls/50dc6c495c0c9188/f2f7dc8efc522ab2";
        assert_eq!(listener_region(net), Some("us-east-2"));
    }

    #[test]
    fn what_is_not_a_listener_arn_is_refused() {
        for bad in [
            "",
            "listener/app/web/1/2",
            "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/web/50dc6c495c0c9188",
            "arn:aws:elasticloadbalancing:eu-west-1:1111:listener/app/web/5/f",
            "arn:aws:ec2:eu-west-1:111111111111:listener/app/web/5/f",
            "arn:aws:elasticloadbalancing::111111111111:listener/app/web/5/f",
            "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/web/5",
            "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener-rule/app/web/5/f/1",
        ] {
            assert_eq!(listener_region(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_kind_has_its_own_label_and_window() {
        let labels: std::collections::BTreeSet<_> =
            ConsumerKind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(labels.len(), 4);
        assert_eq!(ConsumerKind::CloudFront.default_window().as_secs(), 3600);
        assert_eq!(ConsumerKind::Cognito.default_window().as_secs(), 3600);
        assert!(
            ConsumerKind::Listener.default_window() < ConsumerKind::ApiGateway.default_window()
        );
    }

    #[test]
    fn the_id_of_an_api_domain_is_the_domain() {
        assert_eq!(Consumer::ApiDomain.id("api.example.com"), "api.example.com");
        let pool = Consumer::UserPool {
            id: "eu-west-1_A".into(),
        };
        assert_eq!(pool.id("auth.example.com"), "eu-west-1_A");
        assert_eq!(pool.user_pool_id(), Some("eu-west-1_A"));
        assert_eq!(Consumer::ApiDomain.user_pool_id(), None);
    }
}
