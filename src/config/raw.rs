//! The configuration as written: serde structs that mirror the YAML, with `deny_unknown_fields`
//! so a misspelt key is an error with its position. Turned into the typed configuration by
//! [`super::Config::parse`] and the fleet rules in [`super::fleet`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::model::{OnFailure, WebhookFormat};
use super::values::{
    AccountId, Argv, ConnectTo, CronExpr, DistributionId, DomainName, DurationAtMost, EnvName,
    HttpsUrl, HumanDuration, InvalidValue, ListenerArn, MinValidityValue, NoticeEvent, PerSecond,
    QueueUrl, RegionName, RoleArn, SnsTopicArn, TableName, TimeZoneName, Timestamp, UserPoolId,
    WindowStart, DAY, HOUR, WEEK,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) include: Option<Vec<String>>,
    pub(super) rate_limits: Option<RawRates>,
    pub(super) concurrency: Option<usize>,
    pub(super) rollout: Option<RawRollout>,
    pub(super) schedule: Option<CronExpr>,
    pub(super) state_file: Option<PathBuf>,
    pub(super) state: Option<RawState>,
    pub(super) metrics: Option<RawMetrics>,
    pub(super) events: Option<RawEvents>,
    pub(super) notify: Option<RawNotify>,
    pub(super) discovery: Option<RawDiscovery>,
    pub(super) retire: Option<RawRetire>,
    pub(super) hooks: Option<RawHooks>,
    pub(super) verify: Option<RawVerify>,
    pub(super) defaults: Option<RawDefaults>,
    pub(super) windows: Option<Vec<RawWindow>>,
    pub(super) freeze: Option<Vec<RawFreeze>>,
    pub(super) urgent_within: Option<HumanDuration>,
    #[serde(default)]
    pub(super) domains: Vec<RawTarget>,
}

/// A change window (`windows:` at the top, in `defaults:` or on a domain).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub(super) start: WindowStart,
    pub(super) duration: DurationAtMost<WEEK>,
    pub(super) timezone: Option<TimeZoneName>,
}

/// A freeze, checked to end after it starts (so the error points at it).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawFreezeText")]
pub(super) struct RawFreeze {
    pub(super) from: Timestamp,
    pub(super) to: Timestamp,
    pub(super) reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFreezeText {
    from: Timestamp,
    to: Timestamp,
    reason: Option<String>,
}

impl TryFrom<RawFreezeText> for RawFreeze {
    type Error = InvalidValue;
    fn try_from(f: RawFreezeText) -> Result<RawFreeze, InvalidValue> {
        if f.to.0 <= f.from.0 {
            return Err(InvalidValue::from(format!(
                "it ends ({}) before it starts ({}); give from: before to:",
                crate::format::rfc3339(&f.to.0),
                crate::format::rfc3339(&f.from.0)
            )));
        }
        Ok(RawFreeze {
            from: f.from,
            to: f.to,
            reason: f.reason,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVerify {
    pub(super) window: Option<DurationAtMost<WEEK>>,
    pub(super) interval: Option<DurationAtMost<DAY>>,
    pub(super) tls: Option<bool>,
    pub(super) connect_to: Option<ConnectTo>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) on_failure: Option<OnFailure>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRates {
    pub(super) acm_list_certificates: Option<PerSecond>,
    pub(super) acm_describe_certificate: Option<PerSecond>,
    pub(super) acm_list_tags: Option<PerSecond>,
    pub(super) cognito: Option<PerSecond>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) listen: Option<std::net::SocketAddr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvents {
    pub(super) sqs_queue_url: QueueUrl,
    pub(super) region: Option<String>,
}

/// `discovery:`: user pools managed by their tags, without a `domains:` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDiscovery {
    pub(super) regions: Option<Vec<RegionName>>,
    pub(super) role_name: Option<String>,
    pub(super) organization: Option<bool>,
    pub(super) accounts: Option<Vec<AccountId>>,
    pub(super) manage_tagged: BTreeMap<String, String>,
    pub(super) interval: Option<DurationAtMost<WEEK>>,
}

/// `notify:`: notifications where hooks cannot run.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub(super) sns_topic_arn: Option<SnsTopicArn>,
    pub(super) webhook: Option<RawWebhook>,
    pub(super) events: Option<Vec<NoticeEvent>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub(super) url: Option<HttpsUrl>,
    pub(super) url_from_env: Option<EnvName>,
    pub(super) format: Option<WebhookFormat>,
    pub(super) headers_from_env: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHooks {
    pub(super) on_rotate: Option<Argv>,
    pub(super) on_verified: Option<Argv>,
    pub(super) on_failure: Option<Argv>,
    pub(super) timeout: Option<DurationAtMost<HOUR>>,
    pub(super) pass_env: Option<Vec<EnvName>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) min_validity: Option<MinValidityValue>,
    pub(super) role_arn: Option<RoleArn>,
    pub(super) external_id: Option<String>,
    pub(super) windows: Option<Vec<RawWindow>>,
    pub(super) freeze: Option<Vec<RawFreeze>>,
    pub(super) urgent_within: Option<HumanDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) domain: DomainName,
    pub(super) user_pool_id: Option<UserPoolId>,
    pub(super) cloudfront_distribution_id: Option<DistributionId>,
    pub(super) api_gateway_region: Option<RegionName>,
    pub(super) listener_arn: Option<ListenerArn>,
    pub(super) min_validity: Option<MinValidityValue>,
    pub(super) require_tags: Option<BTreeMap<String, String>>,
    pub(super) role_arn: Option<RoleArn>,
    pub(super) external_id: Option<String>,
    pub(super) windows: Option<Vec<RawWindow>>,
    pub(super) freeze: Option<Vec<RawFreeze>>,
    pub(super) urgent_within: Option<HumanDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetire {
    pub(super) after: Option<HumanDuration>,
    pub(super) action: Option<super::model::RetireAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRollout {
    pub(super) canary: Option<Vec<DomainName>>,
    pub(super) canary_count: Option<usize>,
}

/// An included file: more domains, optionally with its own defaults and includes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInclude {
    pub(super) include: Option<Vec<String>>,
    pub(super) defaults: Option<RawDefaults>,
    #[serde(default)]
    pub(super) domains: Vec<RawTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub(super) dynamodb: Option<RawDynamo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDynamo {
    pub(super) table: TableName,
    pub(super) region: Option<String>,
    pub(super) lease: Option<HumanDuration>,
}
