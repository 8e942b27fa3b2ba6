//! One `domains:` entry as a [`Target`]: the one consumer it names, and what it inherits from
//! the files that include it (`defaults:`: validity, role, windows).

use std::time::Duration;

use super::model::{ConfigError, Consumer, MinValidity, RoleSpec};
use super::raw::{RawDefaults, RawFreeze, RawTarget, RawWindow};
use super::target::Target;
use super::values::{HumanDuration, RoleArn};
use crate::window::{ChangePolicy, Freeze, Window};

/// The target of one entry (its `source` left for the caller).
pub(super) fn target_of(
    domain: String,
    mut entry: RawTarget,
    inherited: &Inherited,
    invalid: &dyn Fn(String) -> ConfigError,
) -> Result<Target, ConfigError> {
    let (consumer, region) =
        consumer_of(&domain, &mut entry).map_err(|e| invalid(e.to_string()))?;
    let role = role_spec(
        entry.role_arn,
        entry.external_id,
        inherited.role.as_ref(),
        invalid,
    )?;
    Ok(Target {
        domain,
        consumer,
        region,
        min_validity: entry.min_validity.map_or(inherited.min_validity, |d| d.0),
        require_tags: entry.require_tags.unwrap_or_default(),
        policy: policy(
            &inherited.policy,
            entry.windows,
            entry.freeze,
            entry.urgent_within,
        ),
        role,
        discovered: None,
        source: String::new(),
    })
}

/// An entry that does not name exactly one consumer.
#[derive(Debug, thiserror::Error)]
enum ConsumerKeys {
    /// None of the keys.
    #[error("domain \"{domain}\" names no consumer: add one of {CONSUMER_KEYS} (what serves the domain)")]
    None {
        /// The entry's domain.
        domain: String,
    },
    /// More than one.
    #[error("domain \"{domain}\" names {}: each entry names exactly one of {CONSUMER_KEYS}; list the domain once, with the one that serves it", .keys.join(" and "))]
    Several {
        /// The entry's domain.
        domain: String,
        /// The keys it gives.
        keys: Vec<&'static str>,
    },
}

/// The one consumer an entry names (`user_pool_id`, `cloudfront_distribution_id`,
/// `api_gateway_region` or `listener_arn`) and the region its service is called in.
fn consumer_of(domain: &str, entry: &mut RawTarget) -> Result<(Consumer, String), ConsumerKeys> {
    let mut named = Vec::new();
    if let Some(pool) = entry.user_pool_id.take() {
        named.push((
            "user_pool_id",
            Consumer::UserPool { id: pool.id },
            pool.region,
        ));
    }
    if let Some(id) = entry.cloudfront_distribution_id.take() {
        named.push((
            "cloudfront_distribution_id",
            Consumer::Distribution { id: id.0 },
            crate::model::CERTIFICATE_REGION.to_string(),
        ));
    }
    if let Some(region) = entry.api_gateway_region.take() {
        named.push(("api_gateway_region", Consumer::ApiDomain, region.0));
    }
    if let Some(listener) = entry.listener_arn.take() {
        named.push((
            "listener_arn",
            Consumer::Listener { arn: listener.arn },
            listener.region,
        ));
    }
    match named.len() {
        1 => {
            let (_, consumer, region) = named.remove(0);
            Ok((consumer, region))
        }
        0 => Err(ConsumerKeys::None {
            domain: domain.to_string(),
        }),
        _ => Err(ConsumerKeys::Several {
            domain: domain.to_string(),
            keys: named.iter().map(|(key, ..)| *key).collect(),
        }),
    }
}

/// The keys of `domains:` entries that name a consumer.
const CONSUMER_KEYS: &str =
    "user_pool_id, cloudfront_distribution_id, api_gateway_region or listener_arn";

/// Defaults passed down from the including file.
#[derive(Debug, Clone)]
pub(super) struct Inherited {
    pub(super) min_validity: MinValidity,
    pub(super) role: Option<RoleSpec>,
    pub(super) policy: ChangePolicy,
}

impl Inherited {
    /// Before any file: 30 days, default credentials.
    pub(super) fn root() -> Inherited {
        Inherited {
            min_validity: MinValidity::Duration(Duration::from_secs(30 * 86_400)),
            role: None,
            policy: ChangePolicy::default(),
        }
    }

    /// The top level's `windows:`, `freeze:` and `urgent_within:`.
    pub(super) fn with_policy(
        mut self,
        windows: Option<Vec<RawWindow>>,
        freeze: Option<Vec<RawFreeze>>,
        urgent_within: Option<HumanDuration>,
    ) -> Inherited {
        self.policy = policy(&self.policy, windows, freeze, urgent_within);
        self
    }

    /// What a file's `defaults:` make of what it inherits.
    pub(super) fn with_defaults(
        &self,
        defaults: RawDefaults,
        invalid: &dyn Fn(String) -> ConfigError,
    ) -> Result<Inherited, ConfigError> {
        Ok(Inherited {
            policy: policy(
                &self.policy,
                defaults.windows,
                defaults.freeze,
                defaults.urgent_within,
            ),
            min_validity: defaults.min_validity.map_or(self.min_validity, |d| d.0),
            role: role_spec(
                defaults.role_arn,
                defaults.external_id,
                self.role.as_ref(),
                invalid,
            )?,
        })
    }
}

/// `parent`, with whichever of `windows:`, `freeze:` and `urgent_within:` are set replacing
/// its own.
pub(super) fn policy(
    parent: &ChangePolicy,
    windows: Option<Vec<RawWindow>>,
    freeze: Option<Vec<RawFreeze>>,
    urgent_within: Option<HumanDuration>,
) -> ChangePolicy {
    ChangePolicy {
        windows: windows.map_or_else(
            || parent.windows.clone(),
            |list| {
                list.into_iter()
                    .map(|w| Window {
                        start: w.start.0,
                        duration: w.duration.0,
                        timezone: w.timezone.map_or(chrono_tz::Tz::UTC, |t| t.0),
                    })
                    .collect()
            },
        ),
        freezes: freeze.map_or_else(
            || parent.freezes.clone(),
            |list| {
                list.into_iter()
                    .map(|f| Freeze {
                        from: f.from.0,
                        to: f.to.0,
                        reason: f.reason.unwrap_or_else(|| "no reason given".to_string()),
                    })
                    .collect()
            },
        ),
        urgent_within: urgent_within.map_or(parent.urgent_within, |d| d.0),
    }
}

/// A role from `role_arn` / `external_id`, falling back to the inherited one.
pub(super) fn role_spec(
    role_arn: Option<RoleArn>,
    external_id: Option<String>,
    inherited: Option<&RoleSpec>,
    invalid: &dyn Fn(String) -> ConfigError,
) -> Result<Option<RoleSpec>, ConfigError> {
    match (role_arn, external_id, inherited) {
        (Some(role_arn), external_id, _) => Ok(Some(RoleSpec {
            role_arn,
            external_id,
        })),
        (None, Some(external_id), Some(parent)) => Ok(Some(RoleSpec {
            role_arn: parent.role_arn.clone(),
            external_id: Some(external_id),
        })),
        (None, Some(_), None) => Err(invalid(
            "external_id without role_arn: an external ID only means something when assuming a role; add role_arn".to_string(),
        )),
        (None, None, parent) => Ok(parent.cloned()),
    }
}
