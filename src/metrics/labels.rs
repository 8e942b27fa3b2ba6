//! The label sets of the metrics.

use prometheus_client::encoding::EncodeLabelSet;

/// `{domain, kind, consumer}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: String,
    /// The consumer's kind: `cognito`, `cloudfront`, `api_gateway`, `listener`.
    pub kind: String,
    /// What serves it: the user pool ID, distribution ID, API Gateway domain or listener ARN.
    pub consumer: String,
}

impl TargetLabels {
    /// The labels of `target`.
    pub fn of(target: &crate::config::Target) -> TargetLabels {
        TargetLabels {
            domain: target.domain.clone(),
            kind: target.kind().label().to_string(),
            consumer: target.consumer_id().to_string(),
        }
    }
}

/// `{domain, result}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: String,
    /// verified, failed, unverified, error.
    pub result: String,
}

/// `{domain, state}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: String,
    /// verified, verifying, failed.
    pub state: String,
}

/// `target_failures_total` labels: `{domain, reason}` (`kind` is the consumer's kind on
/// every other metric).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: String,
    /// Why it failed (`verification`, `selection`, an AWS error code...).
    pub reason: String,
}

/// `{domain}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DomainLabel {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: String,
}

/// `{domain, setting}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SettingLabels {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: String,
    /// The setting's API name (`Routing.Failover`, `ManagedLoginVersion`...).
    pub setting: String,
}

/// `{service, operation, outcome, account}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AwsLabels {
    /// ACM, Cognito Identity Provider...
    pub service: String,
    /// ListCertificates...
    pub operation: String,
    /// success, throttled, client_error, server_error, transport_error.
    pub outcome: String,
    /// The account: its ID when reached through a role, else `default`.
    pub account: String,
}

/// `{event, result}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabels {
    /// on_rotate, on_verified, on_failure.
    pub event: String,
    /// success, failed, timeout.
    pub result: String,
}

/// `events_total` labels: `{detail_type, result}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// An ACM detail type, `other` (another event) or `none` (not an event).
    pub detail_type: String,
    /// handled, ignored, malformed, returned.
    pub result: String,
}

/// `deferred` labels: `{domain, reason}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: String,
    /// window, freeze.
    pub reason: String,
}

/// `notifications_total` labels: `{channel, event, result}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    /// sns, webhook (queue: dropped before any channel).
    pub channel: String,
    /// rotated, verified, failed, rolled_back, renewal_action_required, external_change, expiring.
    pub event: String,
    /// sent, retried, failed, dropped.
    pub result: String,
}

/// `unmanaged_domain` labels: `{domain, account, region, kind}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UnmanagedLabels {
    /// The custom domain.
    pub domain: String,
    /// Its account.
    pub account: String,
    /// Its consumer's region (its user pool's for a custom domain).
    pub region: String,
    /// Its consumer's kind (`cognito`, `cloudfront`, `api_gateway`, `listener`, `other`).
    pub kind: String,
}
