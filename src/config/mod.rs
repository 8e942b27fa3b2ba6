//! Configuration: YAML → raw serde structs (`raw.rs`) → validated [`Config`] (`model.rs`).
//!
//! Field types validate themselves while deserialising (`values.rs`: a [`DomainName`] rejects
//! `Auth_Example.com`, a [`HumanDuration`] rejects `10 parsecs`), so serde_yaml_ng attaches the
//! line and column of the offending value. Checks that span fields (duplicates, interval vs
//! window, files that must exist) run afterwards and locate their key in the text
//! (`position.rs`). `include:` files, per-file defaults and rollout rules are in `fleet.rs`.
//!
//! The files import in one direction: `mod.rs` → `fleet`, `notify` → `raw` → `values`/`model`,
//! and `position` for messages.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod bounded;
mod entry;
mod fleet;
pub mod model;
mod notify;
mod position;
mod raw;
mod target;
pub mod values;

use entry::Inherited;
use fleet::Seen;
pub use model::{
    Config, ConfigError, DiscoverySettings, DynamoSettings, EventSettings, Hooks, MinValidity,
    NotifySettings, OnFailure, Rates, RoleSpec, Rollout, StateBackend, VerifySettings,
    WebhookFormat, WebhookSettings, DEFAULT_CONCURRENCY, DEFAULT_DISCOVERY_INTERVAL, DEFAULT_LEASE,
    DEFAULT_SCHEDULE, ENV_CONFIG, ENV_CONFIG_NAME,
};
pub use notify::read_secret;
use position::{locate, relative_to, Invalid};
use raw::{RawConfig, RawHooks, RawRates, RawState, RawVerify};
pub use target::Target;
pub use values::{
    parse_cron, AccountId, Argv, CronExpr, DomainName, EnvName, HostPort, HumanDuration, QueueUrl,
    RegionName, RoleArn, TableName, UserPoolId,
};

impl Config {
    /// Read and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::parse(&bounded::read(path)?, path)
    }

    /// From `-c FILE` when given, else from the `CCR_CONFIG_YAML` environment variable (the
    /// YAML itself, for containers), else an error.
    pub fn from_file_or_env(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(p) => Config::load(p),
            None => match std::env::var(ENV_CONFIG) {
                Ok(text) if !text.trim().is_empty() => {
                    Config::parse(&text, Path::new(ENV_CONFIG_NAME))
                }
                _ => Err(ConfigError::Missing),
            },
        }
    }

    /// Read the configuration again from where it came from (SIGHUP).
    pub fn reload(&self) -> Result<Config, ConfigError> {
        if self.path == Path::new(ENV_CONFIG_NAME) {
            Config::from_file_or_env(None)
        } else {
            Config::load(&self.path)
        }
    }

    /// Validate configuration text; `path` is used in messages and to resolve relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = bounded::from_str(text, path)?;
        let invalid = |key: &str, value: Option<&str>, message: String| {
            let (line, column) = locate(text, key, value);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let verify = verify_settings(raw.verify.unwrap_or_default(), path, &invalid)?;

        let inherited = Inherited::root()
            .with_policy(raw.windows, raw.freeze, raw.urgent_within)
            .with_defaults(raw.defaults.unwrap_or_default(), &|m| {
                invalid("external_id", None, m)
            })?;
        let seen = targets(text, path, raw.domains, raw.include, &inherited)?;
        if seen.targets.is_empty() && raw.discovery.is_none() {
            return Err(invalid(
                "domains",
                None,
                "domains: the list is empty; add at least one {domain, user_pool_id} entry (here or in an included file)"
                    .to_string(),
            ));
        }
        let concurrency = concurrency(raw.concurrency, &invalid)?;
        let rollout = fleet::rollout(raw.rollout, &seen.targets, &|key, value, m| {
            invalid(key, value, m)
        })?;
        let Seen { targets, files, .. } = seen;
        let rates = rates(raw.rate_limits.unwrap_or_default());

        let state = state_backend(raw.state, raw.state_file, path, &invalid)?;
        Ok(Config {
            ignore_windows: false,
            path: path.to_path_buf(),
            schedule: raw
                .schedule
                .map_or_else(|| DEFAULT_SCHEDULE.to_string(), |s| s.0),
            state,
            metrics_listen: raw.metrics.and_then(|m| m.listen),
            discovery: raw.discovery.map(|d| discovery(d, &inherited)),
            retire: raw.retire.map(retire),
            notify: raw
                .notify
                .map(|n| notify::notify(n, &invalid))
                .transpose()?,
            events: events(raw.events),
            hooks: hooks(raw.hooks.unwrap_or_default()),
            verify,
            targets,
            concurrency,
            rollout,
            files,
            rates,
        })
    }
}

/// The targets of `domains:`, then of each `include:` file in turn.
fn targets(
    text: &str,
    path: &Path,
    domains: Vec<raw::RawTarget>,
    include: Option<Vec<String>>,
    inherited: &Inherited,
) -> Result<Seen, ConfigError> {
    let mut seen = Seen::default();
    fleet::add_targets(text, path, domains, inherited, &mut seen)?;
    fleet::follow_includes(text, path, include, inherited, &mut seen)?;
    Ok(seen)
}

/// `concurrency:`, 1 to 64 (default [`DEFAULT_CONCURRENCY`]).
fn concurrency(given: Option<usize>, invalid: &Invalid<'_>) -> Result<usize, ConfigError> {
    let concurrency = given.unwrap_or(DEFAULT_CONCURRENCY);
    if !(1..=64).contains(&concurrency) {
        return Err(invalid(
            "concurrency",
            None,
            format!("concurrency: {concurrency} is out of range; give 1 to 64 (default {DEFAULT_CONCURRENCY})"),
        ));
    }
    Ok(concurrency)
}

/// `events:`: the queue, read in its own region (else the URL's, else us-east-1).
fn events(raw: Option<raw::RawEvents>) -> Option<EventSettings> {
    raw.map(|e| EventSettings {
        region: e
            .region
            .or(e.sqs_queue_url.region)
            .unwrap_or_else(|| "us-east-1".to_string()),
        queue_url: e.sqs_queue_url.url,
    })
}

/// `verify:`: the window, the interval within it, and a `ca_file` that exists.
fn verify_settings(
    verify: RawVerify,
    path: &Path,
    invalid: &Invalid<'_>,
) -> Result<VerifySettings, ConfigError> {
    let window = verify.window.map_or(Duration::from_secs(3600), |d| d.0);
    let interval = verify.interval.map_or(Duration::from_secs(30), |d| d.0);
    if interval > window {
        return Err(invalid(
            "interval",
            None,
            format!(
                "verify.interval ({}) is longer than verify.window ({}): the check would run once at most; use a shorter interval",
                crate::format::fmt_duration(interval),
                crate::format::fmt_duration(window)
            ),
        ));
    }
    let ca_file = match verify.ca_file {
        None => None,
        Some(file) => {
            let resolved = relative_to(path, file);
            if !resolved.is_file() {
                return Err(invalid(
                    "ca_file",
                    None,
                    format!(
                        "verify.ca_file {}: no such file (relative paths are read from the config file's folder)",
                        resolved.display()
                    ),
                ));
            }
            Some(resolved)
        }
    };
    Ok(VerifySettings {
        window,
        window_configured: verify.window.is_some(),
        interval,
        tls: verify.tls.unwrap_or(true),
        connect_to: verify.connect_to.map(|c| c.0).unwrap_or_default(),
        ca_file,
        on_failure: verify.on_failure.unwrap_or_default(),
    })
}

/// `rate_limits:`: each request rate, or its default under the AWS quota.
fn rates(raw_rates: RawRates) -> Rates {
    let defaults_rates = Rates::default();
    Rates {
        acm_list: raw_rates
            .acm_list_certificates
            .map_or(defaults_rates.acm_list, |r| r.0),
        acm_describe: raw_rates
            .acm_describe_certificate
            .map_or(defaults_rates.acm_describe, |r| r.0),
        acm_tags: raw_rates
            .acm_list_tags
            .map_or(defaults_rates.acm_tags, |r| r.0),
        cognito: raw_rates.cognito.map_or(defaults_rates.cognito, |r| r.0),
    }
}

/// `state:` (a DynamoDB table with its lease) or `state_file:`, not both.
fn state_backend(
    state: Option<RawState>,
    state_file: Option<PathBuf>,
    path: &Path,
    invalid: &Invalid<'_>,
) -> Result<StateBackend, ConfigError> {
    Ok(match (state, state_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "state",
                None,
                "state: and state_file: are both set; keep state_file: for the file on this host, or state: {dynamodb: ...} for a shared table, not both".to_string(),
            ))
        }
        (Some(RawState { dynamodb: None }), None) => {
            return Err(invalid(
                "state",
                None,
                "state: needs dynamodb: {table: NAME} (or remove state: to keep the state file)".to_string(),
            ))
        }
        (Some(RawState {
            dynamodb: Some(d),
        }), None) => {
            let lease = d.lease.map_or(DEFAULT_LEASE, |l| l.0);
            if !(Duration::from_secs(2)..=Duration::from_secs(600)).contains(&lease) {
                return Err(invalid(
                    "lease",
                    None,
                    format!(
                        "state.dynamodb.lease {} is out of range; give 2s to 10m (default {})",
                        crate::format::fmt_duration(lease),
                        crate::format::fmt_duration(DEFAULT_LEASE)
                    ),
                ));
            }
            StateBackend::DynamoDb(DynamoSettings {
                table: d.table.0,
                region: d.region,
                lease,
            })
        }
        (None, file) => StateBackend::File(
            file.map_or_else(default_state_file, |f| relative_to(path, f)),
        ),
    })
}

/// `hooks:`: the argv lists and their timeout.
fn hooks(hooks: RawHooks) -> Hooks {
    Hooks {
        on_rotate: hooks.on_rotate.map(|h| h.0),
        on_verified: hooks.on_verified.map(|h| h.0),
        on_failure: hooks.on_failure.map(|h| h.0),
        timeout: hooks.timeout.map_or(Duration::from_secs(60), |d| d.0),
        pass_env: hooks
            .pass_env
            .unwrap_or_default()
            .into_iter()
            .map(|n| n.0)
            .collect(),
    }
}

/// The units' `StateDirectory=` on a host where the package's units ran.
pub const SYSTEM_STATE_DIRECTORY: &str = "/var/lib/cognito-cert-rotator";

/// `$STATE_DIRECTORY/state.json` under systemd (`StateDirectory=`); else, on a host where the
/// units ran, the same file (so `forget` and `status` from a shell read what the daemon
/// writes); else `./cognito-cert-rotator.state.json`.
pub fn default_state_file() -> PathBuf {
    default_state_file_in(
        std::env::var("STATE_DIRECTORY").ok().as_deref(),
        Path::new(SYSTEM_STATE_DIRECTORY),
    )
}

fn default_state_file_in(state_directory: Option<&str>, system: &Path) -> PathBuf {
    match state_directory {
        // systemd may pass several directories separated by colons; the first is ours.
        Some(dirs) if !dirs.is_empty() => {
            PathBuf::from(dirs.split(':').next().unwrap_or(dirs)).join("state.json")
        }
        _ if system.is_dir() => system.join("state.json"),
        _ => PathBuf::from("cognito-cert-rotator.state.json"),
    }
}

#[cfg(test)]
mod tests;

/// `retire:`, off without it: a week, tagging.
fn retire(raw: raw::RawRetire) -> model::RetireSettings {
    model::RetireSettings {
        after: raw.after.map_or(Duration::from_secs(7 * 86_400), |d| d.0),
        action: raw.action.unwrap_or(model::RetireAction::Tag),
    }
}

/// `discovery:` with the top-level defaults its targets get.
fn discovery(d: raw::RawDiscovery, inherited: &Inherited) -> DiscoverySettings {
    DiscoverySettings {
        regions: d.regions.map_or_else(
            || {
                crate::model::COGNITO_REGIONS
                    .iter()
                    .map(|r| (*r).to_string())
                    .collect()
            },
            |list| list.into_iter().map(|r| r.0).collect(),
        ),
        role_name: d.role_name,
        organization: d.organization.unwrap_or(false),
        accounts: d
            .accounts
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.0)
            .collect(),
        manage_tagged: d.manage_tagged,
        interval: d.interval.map_or(DEFAULT_DISCOVERY_INTERVAL, |i| i.0),
        min_validity: inherited.min_validity,
        policy: inherited.policy.clone(),
    }
}
