//! The validated configuration: what the rest of the program reads. Built only by
//! [`super::Config::parse`]; every value here has been checked.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub use super::target::{RoleSpec, Target};
pub use crate::model::MinValidity;
pub use crate::model::{Consumer, ConsumerKind};

/// A configuration problem; its `Display` is `file:line:col: what is wrong and what is expected`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the configuration file")]
    Read {
        /// The file, as the configuration names it.
        path: PathBuf,
        /// The I/O error, shown after this message (its `source()`).
        #[source]
        source: std::io::Error,
    },
    /// Neither `-c FILE` nor `CCR_CONFIG_YAML`.
    #[error("no configuration: pass -c FILE, or put the YAML itself in the CCR_CONFIG_YAML environment variable")]
    Missing,
    /// The file was read but is wrong.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file, as the configuration names it.
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
    /// How long to wait for the consumer and the edge to show the new certificate
    /// (`verify.window`; when unset, each kind's own default: [`VerifySettings::window_for`]).
    pub window: Duration,
    /// Whether `verify.window` was set (then it applies to every kind).
    pub window_configured: bool,
    /// How often to look during the window.
    pub interval: Duration,
    /// Whether to do the TLS handshake check at all.
    pub tls: bool,
    /// `host:port`s to probe instead of every address `<domain>:443` resolves to (SNI stays
    /// the domain); empty: resolve.
    pub connect_to: Vec<String>,
    /// PEM bundle trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    /// What to do when a swap cannot be verified.
    pub on_failure: OnFailure,
}

impl VerifySettings {
    /// The verification window of a `kind`'s swap: `verify.window` when set, else the kind's
    /// default (an hour for Cognito and CloudFront, 15 minutes for API Gateway, 5 for a
    /// listener).
    pub fn window_for(&self, kind: ConsumerKind) -> Duration {
        if self.window_configured {
            self.window
        } else {
            kind.default_window()
        }
    }
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
    /// Variables of the daemon's environment hooks also see (`hooks.pass_env`); by default a
    /// hook sees only `PATH`, `HOME`, `LANG`, `TZ` and its `CCR_*` variables, never the
    /// daemon's credentials or secrets.
    pub pass_env: Vec<String>,
}

/// `discovery:`: custom domains of user pools carrying `manage_tagged` are managed as if
/// listed under `domains:`, with the top-level `defaults:` (an explicit entry wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// Regions to look in (default: every Cognito region).
    pub regions: Vec<String>,
    /// The role assumed in each account of `accounts` and the Organization.
    pub role_name: Option<String>,
    /// Every ACTIVE account of the AWS Organization.
    pub organization: bool,
    /// Explicit accounts.
    pub accounts: Vec<String>,
    /// The tags (all of them) that make a user pool's custom domain, or a distribution, API
    /// Gateway domain or load balancer's listener, managed.
    pub manage_tagged: BTreeMap<String, String>,
    /// How often to look again.
    pub interval: Duration,
    /// What a discovered target gets: the top-level defaults.
    pub min_validity: MinValidity,
    /// The top-level change windows and freezes.
    pub policy: crate::window::ChangePolicy,
}

/// `discovery.interval` when not set.
pub const DEFAULT_DISCOVERY_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// `notify:`: where notifications go when hooks cannot run (a distroless image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// SNS topic to publish a JSON message to.
    pub sns_topic_arn: Option<String>,
    /// An HTTPS endpoint to POST to.
    pub webhook: Option<WebhookSettings>,
    /// Which events are sent (default: all).
    pub events: std::collections::BTreeSet<crate::model::NoticeKind>,
}

/// `notify.webhook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `https://…`.
    pub url: String,
    /// Slack blocks or the event as JSON.
    pub format: WebhookFormat,
    /// Header name → the environment variable holding its value (secrets stay out of the file).
    pub headers_from_env: BTreeMap<String, String>,
}

/// The webhook's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `{"text", "blocks"}` for a Slack incoming webhook.
    #[default]
    Slack,
    /// The event as JSON (the SNS message's shape).
    Json,
}

/// `events:`: the SQS queue an EventBridge rule for ACM feeds (`deploy/events/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// The SQS queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`).
    pub queue_url: String,
    /// The queue's region: `region:`, else the URL's, else us-east-1 (where ACM's events
    /// for CloudFront certificates are).
    pub region: String,
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
    /// `once --ignore-windows`: swap now, whatever the change windows and freezes say (an
    /// operator's emergency). Not from the file.
    pub ignore_windows: bool,
    /// Where it came from.
    pub path: PathBuf,
    /// Cron expression with seconds for the daemon (`run`).
    pub schedule: String,
    /// Where the state lives: a file (default) or a DynamoDB table.
    pub state: StateBackend,
    /// Where `/metrics` and `/healthz` listen; `None` = off.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Programs run after a swap, a verification and a failure.
    pub hooks: Hooks,
    /// The SQS queue of ACM events that trigger passes (`run`); `None` = schedule only.
    pub events: Option<EventSettings>,
    /// `notify:`: SNS and webhook notifications.
    pub notify: Option<NotifySettings>,
    /// `discovery:`: user pools managed by their tags.
    pub discovery: Option<DiscoverySettings>,
    /// `retire:`: what to do with a certificate the rotator moved a domain off, once nothing
    /// uses it (off by default).
    pub retire: Option<RetireSettings>,
    /// The `verify:` block: window, interval, the TLS check, `on_failure`.
    pub verify: VerifySettings,
    /// The targets, in file order (the main file's first, then each included file's).
    pub targets: Vec<Target>,
    /// How many targets are worked on at once.
    pub concurrency: usize,
    /// The `rollout:` block: canaries and their grouping.
    pub rollout: Rollout,
    /// Every file read, the main one first, with how many targets each added.
    pub files: Vec<(PathBuf, usize)>,
    /// Client-side request rates per account (defaults: the AWS quotas).
    pub rates: Rates,
}

/// Parallel targets when `concurrency:` is not set.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// `retire:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetireSettings {
    /// How long `InUseBy` must have been empty.
    pub after: Duration,
    /// What retiring does.
    pub action: RetireAction,
}

/// What retiring a certificate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetireAction {
    /// Tag it `cognito-cert-rotator:retired=<date>` (ACM stops nothing; a person deletes it).
    Tag,
    /// DeleteCertificate.
    Delete,
}

impl RetireAction {
    /// As `retire.action` writes it.
    pub fn name(self) -> &'static str {
        match self {
            RetireAction::Tag => "tag",
            RetireAction::Delete => "delete",
        }
    }
}

/// Canary rollout: which targets go first when several would move to the same certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rollout {
    /// These domains are the canaries (those of them in the group).
    pub canary: Vec<String>,
    /// Or: the first N targets of the group, in config order.
    pub canary_count: usize,
}

impl Rollout {
    /// Whether canary rollout is on.
    pub fn enabled(&self) -> bool {
        !self.canary.is_empty() || self.canary_count > 0
    }
}

/// What happens when a swap cannot be verified within its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Report it (log, status, metrics, `on_failure` hook) and leave the domain as it is.
    #[default]
    Alert,
    /// Also put the previous certificate back when it is still eligible, and denylist the new
    /// one for this domain until `forget DOMAIN`.
    Rollback,
}

/// Requests per second per account for each rate-limited operation family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// ACM ListCertificates (each page is one request). AWS quota: 8/s.
    pub acm_list: f64,
    /// ACM DescribeCertificate. AWS quota: 10/s.
    pub acm_describe: f64,
    /// ACM ListTagsForCertificate. AWS quota: 10/s.
    pub acm_tags: f64,
    /// Cognito DescribeUserPoolDomain and UpdateUserPoolDomain, in each region (the quota is
    /// per account and per region). AWS quota: ~15/s.
    pub cognito: f64,
}

// Rates are finite and positive (or 0 = unlimited), never NaN: equality is total.
impl Eq for Rates {}

impl Default for Rates {
    /// The documented AWS quotas.
    fn default() -> Rates {
        Rates {
            acm_list: 8.0,
            acm_describe: 10.0,
            acm_tags: 10.0,
            cognito: 15.0,
        }
    }
}

/// Where the state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateBackend {
    /// The crash-safe state file on this host (`state_file:`).
    File(PathBuf),
    /// A DynamoDB table shared by replicas, with leadership (`state: {dynamodb: ...}`).
    DynamoDb(DynamoSettings),
}

/// `state.dynamodb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoSettings {
    /// The table name, as configured.
    pub table: String,
    /// Its region; `None`: the credential chain's.
    pub region: Option<String>,
    /// How long leadership lasts unless renewed.
    pub lease: Duration,
}

/// The lease when `state.dynamodb.lease` is not set.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

impl Config {
    /// This configuration with `discovered` targets added (a domain listed under `domains:`
    /// keeps its entry).
    pub fn with_discovered(&self, discovered: &[Target]) -> Config {
        let mut config = self.clone();
        config.targets.retain(|t| t.discovered.is_none());
        let listed: std::collections::BTreeSet<String> =
            config.targets.iter().map(|t| t.domain.clone()).collect();
        config.targets.extend(
            discovered
                .iter()
                .filter(|t| !listed.contains(&t.domain))
                .cloned(),
        );
        config
    }

    /// What `validate` prints: the files, targets, accounts and rollout, one per line.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let accounts: std::collections::BTreeSet<_> =
            self.targets.iter().map(|t| t.role.clone()).collect();
        // Writing to a String cannot fail.
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: OK, {} target(s) from {} file(s), {} account(s), concurrency {}",
            self.path.display(),
            self.targets.len(),
            self.files.len(),
            accounts.len(),
            self.concurrency
        );
        for (file, n) in &self.files {
            let _ = writeln!(out, "  file {}: {n} target(s)", file.display());
        }
        for t in &self.targets {
            let _ = writeln!(
                out,
                "  {} -> {} ({}), min validity {}, {}",
                t.domain,
                t.consumer.describe(&t.domain),
                t.region,
                t.min_validity,
                t.role
                    .as_ref()
                    .map_or("default credentials".to_string(), |r| r.to_string())
            );
        }
        if self.rollout.enabled() {
            if self.rollout.canary.is_empty() {
                let _ = writeln!(
                    out,
                    "  rollout: first {} target(s) of each group are canaries",
                    self.rollout.canary_count
                );
            } else {
                let _ = writeln!(
                    out,
                    "  rollout: canaries {}",
                    self.rollout.canary.join(", ")
                );
            }
        }
        if let Some(e) = &self.events {
            let _ = writeln!(out, "  events: SQS queue {} ({})", e.queue_url, e.region);
        }
        out
    }
}

/// How notifications, metrics and logs name the account of a target: the account ID of its
/// role, or `default` (the caller's own credentials).
pub fn account_label(role: &Option<RoleSpec>) -> String {
    role.as_ref()
        .map_or_else(|| "default".to_string(), |r| r.role_arn.account.clone())
}
