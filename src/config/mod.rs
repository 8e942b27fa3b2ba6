//! Configuration: YAML → raw serde structs → validated [`Config`].
//!
//! Field types validate themselves while deserialising (a [`DomainName`] rejects
//! `Auth_Example.com`, a [`HumanDuration`] rejects `10 parsecs`), so serde_yaml_ng attaches the
//! line and column of the offending value. Checks that span fields (duplicates, interval vs
//! window, files that must exist) run afterwards and locate their key in the text.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

mod fleet;

use fleet::{Inherited, Seen};
pub use fleet::{OnFailure, RoleArn, RoleSpec, Rollout};

/// A configuration problem; its `Display` is `file:line:col: what is wrong and what is expected`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the configuration file: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Neither `-c FILE` nor `CCR_CONFIG_YAML`.
    #[error("no configuration: pass -c FILE, or put the YAML itself in the CCR_CONFIG_YAML environment variable")]
    Missing,
    /// The file was read but is wrong.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and what is expected.
        message: String,
    },
}

/// How the edge check is done after a swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySettings {
    /// How long to wait for Cognito and the edge to show the new certificate.
    pub window: Duration,
    /// How often to look during the window.
    pub interval: Duration,
    /// Whether to do the TLS handshake check at all.
    pub tls: bool,
    /// `host:port` to connect to instead of `<domain>:443` (SNI stays the domain).
    pub connect_to: Option<String>,
    /// PEM bundle trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    /// What to do when a swap cannot be verified.
    pub on_failure: OnFailure,
}

/// One custom domain to look after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The custom domain, lowercase.
    pub domain: String,
    /// The user pool that must own it.
    pub user_pool_id: String,
    /// The user pool's region, from its ID.
    pub region: String,
    /// A candidate must stay valid at least this long.
    pub min_validity: Duration,
    /// ACM tags a candidate must carry, with these values.
    pub require_tags: BTreeMap<String, String>,
    /// The role to assume for this target's account; `None` = the default credentials.
    pub role: Option<RoleSpec>,
    /// Where the entry is written (`file:line`), for messages.
    pub source: String,
}

/// Commands run on events (certbot-style), each an argv list run without a shell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hooks {
    /// After a swap.
    pub on_rotate: Option<Vec<String>>,
    /// After a swap is verified.
    pub on_verified: Option<Vec<String>>,
    /// After a target fails (AWS error, no eligible certificate, verification failed).
    pub on_failure: Option<Vec<String>>,
    /// How long a hook may run before it is killed.
    pub timeout: Duration,
}

/// The environment variable that may hold the whole configuration (containers).
pub const ENV_CONFIG: &str = "CCR_CONFIG_YAML";
/// How messages name a configuration that came from [`ENV_CONFIG`].
pub const ENV_CONFIG_NAME: &str = "$CCR_CONFIG_YAML";

/// The default daemon schedule: every 15 minutes, at second 0.
pub const DEFAULT_SCHEDULE: &str = "0 */15 * * * *";

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where it came from.
    pub path: PathBuf,
    /// Cron expression with seconds for the daemon (`run`).
    pub schedule: String,
    /// The crash-safe state file.
    pub state_file: PathBuf,
    /// Where `/metrics` and `/healthz` listen; `None` = off.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Event hooks.
    pub hooks: Hooks,
    /// Verification settings.
    pub verify: VerifySettings,
    /// The targets, in file order (the main file's first, then each included file's).
    pub targets: Vec<Target>,
    /// How many targets are worked on at once.
    pub concurrency: usize,
    /// Canary rollout settings.
    pub rollout: Rollout,
    /// Every file read, the main one first, with how many targets each added.
    pub files: Vec<(PathBuf, usize)>,
    /// Client-side request rates per account (defaults: the AWS quotas).
    pub rates: crate::aws::limit::Rates,
}

/// Parallel targets when `concurrency:` is not set.
pub const DEFAULT_CONCURRENCY: usize = 4;

impl Config {
    /// Read and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
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
        let raw: RawConfig =
            serde_yaml_ng::from_str(text).map_err(|e| yaml_error(text, path, &e))?;
        let invalid = |key: &str, value: Option<&str>, message: String| {
            let (line, column) = locate(text, key, value);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };

        let verify = raw.verify.unwrap_or_default();
        let window = verify.window.map_or(Duration::from_secs(3600), |d| d.0);
        let interval = verify.interval.map_or(Duration::from_secs(30), |d| d.0);
        if interval > window {
            return Err(invalid(
                "interval",
                None,
                format!(
                    "verify.interval ({}) is longer than verify.window ({}): the check would run once at most; use a shorter interval",
                    crate::select::fmt_duration(interval),
                    crate::select::fmt_duration(window)
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

        let inherited = Inherited::root()
            .with_defaults(raw.defaults.unwrap_or_default(), &|m| {
                invalid("external_id", None, m)
            })?;
        let mut seen = Seen::default();
        fleet::add_targets(text, path, raw.domains, &inherited, &mut seen)?;
        fleet::follow_includes(text, path, raw.include, &inherited, &mut seen)?;
        if seen.targets.is_empty() {
            return Err(invalid(
                "domains",
                None,
                "domains: the list is empty; add at least one {domain, user_pool_id} entry (here or in an included file)"
                    .to_string(),
            ));
        }
        let concurrency = raw.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=64).contains(&concurrency) {
            return Err(invalid(
                "concurrency",
                None,
                format!("concurrency: {concurrency} is out of range; give 1 to 64 (default {DEFAULT_CONCURRENCY})"),
            ));
        }
        let rollout = fleet::rollout(raw.rollout, &seen.targets, &|key, value, m| {
            invalid(key, value, m)
        })?;
        let Seen { targets, files, .. } = seen;
        let defaults_rates = crate::aws::limit::Rates::default();
        let raw_rates = raw.rate_limits.unwrap_or_default();
        let rates = crate::aws::limit::Rates {
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
        };

        let hooks = raw.hooks.unwrap_or_default();
        Ok(Config {
            path: path.to_path_buf(),
            schedule: raw
                .schedule
                .map_or_else(|| DEFAULT_SCHEDULE.to_string(), |s| s.0),
            state_file: raw
                .state_file
                .map_or_else(default_state_file, |f| relative_to(path, f)),
            metrics_listen: raw.metrics.and_then(|m| m.listen),
            hooks: Hooks {
                on_rotate: hooks.on_rotate.map(|h| h.0),
                on_verified: hooks.on_verified.map(|h| h.0),
                on_failure: hooks.on_failure.map(|h| h.0),
                timeout: hooks.timeout.map_or(Duration::from_secs(60), |d| d.0),
            },
            verify: VerifySettings {
                window,
                interval,
                tls: verify.tls.unwrap_or(true),
                connect_to: verify.connect_to.map(|c| c.0),
                ca_file,
                on_failure: verify.on_failure.unwrap_or_default(),
            },
            targets,
            concurrency,
            rollout,
            files,
            rates,
        })
    }
}

fn first_quoted(message: &str) -> Option<&str> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    Some(&message[start..start + len]).filter(|v| !v.is_empty())
}

fn yaml_error(source: &str, path: &Path, err: &serde_yaml_ng::Error) -> ConfigError {
    let (mut line, mut column) = err.location().map_or((1, 1), |l| (l.line(), l.column()));
    let text = err.to_string();
    // serde_yaml_ng appends " at line L column C"; the location goes in front instead.
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    // Our own value checks quote the bad value, but serde_yaml_ng reports them at the start of
    // the enclosing mapping: point at the value itself, the first place it appears from there.
    if let Some(value) = first_quoted(&message) {
        let found = source
            .lines()
            .enumerate()
            .skip(line.saturating_sub(1))
            .find_map(|(n, l)| l.find(value).map(|i| (n + 1, i + 1)));
        if let Some(at) = found {
            (line, column) = at;
        }
    }
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// Line and column (1-based) of the first `key:` whose value is `value` (any value when
/// `None`); (1, 1) when not found. Good enough for block-style YAML, which is what people
/// write in config files.
fn locate(text: &str, key: &str, value: Option<&str>) -> (usize, usize) {
    locate_nth(text, key, value, 0)
}

/// Like [`locate`], for the `nth` (0-based) such key.
fn locate_nth(text: &str, key: &str, value: Option<&str>, nth: usize) -> (usize, usize) {
    let mut skip = nth;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches([' ', '-']);
        let Some(rest) = trimmed.strip_prefix(key) else {
            continue;
        };
        let Some(after) = rest.strip_prefix(':') else {
            continue;
        };
        let found = after.trim().trim_matches(['"', '\'']);
        if value.is_none_or(|v| v == found) {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let col = line.len() - trimmed.len() + 1;
            let value_col = match value {
                Some(v) => line.find(v).map_or(col, |i| i + 1),
                None => col,
            };
            return (n + 1, value_col);
        }
    }
    (1, 1)
}

/// A path from the config file, read relative to the config file's folder.
fn relative_to(config: &Path, file: PathBuf) -> PathBuf {
    match config.parent() {
        Some(dir) if file.is_relative() => dir.join(file),
        _ => file,
    }
}

/// `$STATE_DIRECTORY/state.json` under systemd (`StateDirectory=`), else
/// `./cognito-cert-rotator.state.json`.
pub fn default_state_file() -> PathBuf {
    match std::env::var("STATE_DIRECTORY") {
        // systemd may pass several directories separated by colons; the first is ours.
        Ok(dirs) if !dirs.is_empty() => {
            PathBuf::from(dirs.split(':').next().unwrap_or(&dirs)).join("state.json")
        }
        _ => PathBuf::from("cognito-cert-rotator.state.json"),
    }
}

/// Parse a cron expression with seconds, as tokio-cron-scheduler does.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|e| {
            format!("schedule \"{expr}\": {e}; expected a cron expression with seconds, such as \"0 */15 * * * *\"")
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    include: Option<Vec<String>>,
    rate_limits: Option<RawRates>,
    concurrency: Option<usize>,
    rollout: Option<fleet::RawRollout>,
    schedule: Option<CronExpr>,
    state_file: Option<PathBuf>,
    metrics: Option<RawMetrics>,
    hooks: Option<RawHooks>,
    verify: Option<RawVerify>,
    defaults: Option<RawDefaults>,
    #[serde(default)]
    domains: Vec<RawTarget>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    window: Option<HumanDuration>,
    interval: Option<HumanDuration>,
    tls: Option<bool>,
    connect_to: Option<HostPort>,
    ca_file: Option<PathBuf>,
    on_failure: Option<OnFailure>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRates {
    acm_list_certificates: Option<PerSecond>,
    acm_describe_certificate: Option<PerSecond>,
    acm_list_tags: Option<PerSecond>,
    cognito: Option<PerSecond>,
}

/// A positive request rate, per second.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PerSecond(f64);

impl<'de> Deserialize<'de> for PerSecond {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let rate = f64::deserialize(d)?;
        if rate.is_finite() && rate > 0.0 && rate <= 10_000.0 {
            Ok(PerSecond(rate))
        } else {
            Err(serde::de::Error::custom(format!(
                "rate {rate}: give requests per second, above 0 and at most 10000"
            )))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<std::net::SocketAddr>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHooks {
    on_rotate: Option<Argv>,
    on_verified: Option<Argv>,
    on_failure: Option<Argv>,
    timeout: Option<HumanDuration>,
}

/// A command as an argv list: a program and its arguments, run without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

impl<'de> Deserialize<'de> for Argv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let argv = Vec::<String>::deserialize(d)?;
        if argv.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(serde::de::Error::custom(
                "a hook is an argv list with the program first, such as [\"/usr/local/bin/notify\", \"--channel\", \"ops\"]",
            ));
        }
        Ok(Argv(argv))
    }
}

/// A validated cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr(pub String);

impl<'de> Deserialize<'de> for CronExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_cron(&text).map_err(serde::de::Error::custom)?;
        Ok(CronExpr(text))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    min_validity: Option<HumanDuration>,
    role_arn: Option<RoleArn>,
    external_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    domain: DomainName,
    user_pool_id: UserPoolId,
    min_validity: Option<HumanDuration>,
    require_tags: Option<BTreeMap<String, String>>,
    role_arn: Option<RoleArn>,
    external_id: Option<String>,
}

/// A positive duration written the humantime way (`90s`, `60m`, `30d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match humantime::parse_duration(&text) {
            Ok(dur) if dur.is_zero() => Err(serde::de::Error::custom(format!(
                "duration \"{text}\" is zero; give a positive duration such as 30s, 60m or 30d"
            ))),
            Ok(dur) => Ok(HumanDuration(dur)),
            Err(e) => Err(serde::de::Error::custom(format!(
                "duration \"{text}\": {e}; expected a number and a unit, such as 30s, 60m or 30d"
            ))),
        }
    }
}

/// A custom domain name, validated as Cognito validates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainName(pub String);

impl DomainName {
    /// Check a domain: lowercase letters, digits and hyphens; no hyphen first or last in a
    /// label; at least two labels separated by periods.
    pub fn parse(text: &str) -> Result<DomainName, String> {
        const RULE: &str =
            "only lowercase letters, digits and hyphens are allowed, labels separated by periods";
        let fail = |why: &str| Err(format!("domain \"{text}\": {why}"));
        if text.is_empty() {
            return fail("is empty");
        }
        if text.len() > 253 {
            return fail("is longer than 253 characters");
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return fail(RULE);
        }
        let labels: Vec<&str> = text.split('.').collect();
        if labels.len() < 2 {
            return fail("a custom domain has at least two labels, such as auth.example.com");
        }
        for label in labels {
            if label.is_empty() {
                return fail("has an empty label (two periods in a row, or a period at an end)");
            }
            if label.len() > 63 {
                return fail("has a label longer than 63 characters");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return fail("a label may not start or end with a hyphen");
            }
        }
        Ok(DomainName(text.to_string()))
    }
}

impl<'de> Deserialize<'de> for DomainName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DomainName::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A user pool ID (`eu-central-1_AbC123`) and the region it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolId {
    /// The whole ID.
    pub id: String,
    /// The region prefix.
    pub region: String,
}

impl UserPoolId {
    /// Split and check a user pool ID.
    pub fn parse(text: &str) -> Result<UserPoolId, String> {
        let bad = || {
            format!("user pool ID \"{text}\": expected <region>_<id>, such as us-east-1_AbCdEf123")
        };
        let (region, id) = text.split_once('_').ok_or_else(bad)?;
        let parts: Vec<&str> = region.split('-').collect();
        let region_ok = parts.len() >= 3
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && parts[parts.len() - 1].parse::<u8>().is_ok_and(|n| n > 0);
        let id_ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
        if region_ok && id_ok {
            Ok(UserPoolId {
                id: text.to_string(),
                region: region.to_string(),
            })
        } else {
            Err(bad())
        }
    }
}

impl<'de> Deserialize<'de> for UserPoolId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        UserPoolId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `host:port`, checked for shape only (name resolution happens when connecting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort(pub String);

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let ok = text
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if ok {
            Ok(HostPort(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "connect_to \"{text}\": expected host:port, such as 127.0.0.1:8443"
            )))
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;
