//! The command line: clap types and dispatch. `main.rs` maps the result to an exit code.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;

mod commands;

const AFTER_HELP: &str = "\
EXIT CODES:
    0  every target is fine: rotated and verified, or nothing to do
    1  at least one target failed: AWS error, no eligible certificate,
       verification failed or timed out (the other targets still ran)
    2  usage or configuration error; nothing was touched

AWS:
    Credentials, profile and endpoint come from the standard AWS chain
    (AWS_PROFILE, AWS_ACCESS_KEY_ID..., instance/task roles, AWS_ENDPOINT_URL).
    ACM is always read in us-east-1, the only region Cognito custom domains
    accept; Cognito is called in each user pool's own region (from its ID).
    Targets with role_arn (and external_id) are reached by assuming that role
    through STS; one ListCertificates scan per account per pass, client-side
    rate limits per account under the AWS quotas, and the SDK's standard
    retries (5 attempts, exponential backoff with jitter) for throttling, 5xx
    and dropped connections.

LOGGING:
    Logs go to stderr; RUST_LOG overrides the level (e.g. RUST_LOG=debug).";

/// Rotates ACM certificates onto their consumers — Amazon Cognito user pool custom domains,
/// CloudFront distributions, API Gateway custom domain names, load balancer listeners — and
/// verifies that the edge serves them.
#[derive(Debug, Parser)]
#[command(name = "cognito-cert-rotator", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Log format on stderr: human-readable text, or JSON lines for ECS/CloudWatch.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// One JSON object (a stable interface).
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check the configuration; touches nothing on AWS.
    ///
    /// Every error names the file, line and column and says what is expected. Exit 2 on error.
    Validate(ConfigArg),
    /// Read-only: per target, the current certificate, the chosen candidate, the action, and
    /// why every other matching certificate was rejected. Makes no write call.
    Plan {
        /// The configuration (`-c FILE`).
        #[command(flatten)]
        config: ConfigArg,
        /// Report format on stdout.
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// One pass: scan, choose, and swap where needed.
    ///
    /// Without --wait the swap is made and not verified (the summary says so). With --wait
    /// the command stays until every swap is verified (Cognito ACTIVE on the new ARN and the
    /// edge serving its serial) or its verify.window runs out: this is how a systemd timer or
    /// an ECS scheduled task runs it.
    Once(OnceArgs),
    /// The daemon: run passes on `schedule:` until SIGTERM/SIGINT; SIGHUP reloads the config.
    ///
    /// Each swap is verified by its own background task while later passes go on; swaps in
    /// flight are kept in the state and resumed after a restart. With `state: {dynamodb: ...}`
    /// several replicas may run: one leads (holds the lease) and acts, the others stand by
    /// and take over within about one lease when it dies. With `events: {sqs_queue_url}`
    /// the leader also long-polls that queue and runs a pass within seconds of an ACM event
    /// (deploy/events/). Speaks sd_notify
    /// (Type=notify, watchdog) under systemd and serves /metrics and /healthz when
    /// metrics.listen is set.
    Run {
        /// The configuration (`-c FILE`).
        #[command(flatten)]
        config: ConfigArg,
        /// Also run a pass right away instead of waiting for the first tick.
        #[arg(long)]
        now: bool,
    },
    /// How every target is doing: certificate, days left, last rotation, verification.
    ///
    /// Reads AWS and the state (file or DynamoDB table, whose current leader it names);
    /// writes nothing. Exit 0 when every target is healthy, 1
    /// when any is failing or its current certificate expires within its min_validity.
    Status {
        /// The configuration (`-c FILE`).
        #[command(flatten)]
        config: ConfigArg,
        /// Report format on stdout.
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Read-only: every Cognito custom domain across accounts and regions, with its user
    /// pool, certificate and days left, and whether the configuration manages it; and every
    /// other consumer of the certificates seen (CloudFront distributions, API Gateway domains,
    /// load balancer listeners, found through ACM's InUseBy in each region scanned and
    /// us-east-1).
    ///
    /// Scans the caller's own account; with -c also every account the configuration reaches
    /// (its role_arns); with --account ID --role-name NAME those accounts; with
    /// --organization --role-name NAME every ACTIVE account of the AWS Organization (call it
    /// from the management or a delegated administrator account). Every Cognito region, or
    /// --regions. A scope that cannot be read (a role that cannot be assumed, a region not
    /// opted into, AccessDenied) is reported and the rest goes on. Never writes to AWS.
    /// --output yaml prints a fleet file of the domains and consumers not managed yet; --write DIR writes
    /// one per account (DIR/ACCOUNT.yaml), never overwriting a file. Exit 0 when every scope
    /// was read, 1 when some failed, 2 on usage errors.
    Discover(DiscoverArgs),
    /// The state: check that every record can be used (file or DynamoDB table), or set up
    /// the shared DynamoDB table (`state: {dynamodb: {table: ...}}` in the config).
    State {
        /// What to do.
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Clear what the state file holds against a domain: its certificate denylist (after a
    /// rollback), its failed last swap (so a held canary rollout retries it), and its failure
    /// backoff. Touches no AWS; safe beside a running daemon, which sees the change at its
    /// next pass.
    Forget {
        /// The configuration (`-c FILE`).
        #[command(flatten)]
        config: ConfigArg,
        /// The custom domain(s) to clear.
        #[arg(required = true, value_name = "DOMAIN")]
        domains: Vec<String>,
    },
}

/// `once`'s arguments.
#[derive(Debug, Args)]
pub struct OnceArgs {
    /// The configuration (`-c FILE`).
    #[command(flatten)]
    config: ConfigArg,
    /// Stay until every swap is verified or its verification window runs out.
    #[arg(long)]
    wait: bool,
    /// Decide and report, but make no write call.
    #[arg(long)]
    dry_run: bool,
    /// With DynamoDB state: when another replica holds the lease, wait up to this long
    /// (e.g. 5m) for it instead of exiting 1 at once.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    lease_wait: Option<std::time::Duration>,
    /// Swap now, whatever the change windows and freezes (`windows:`, `freeze:`) say: an
    /// operator's emergency. The log says so for every swap it lets through.
    #[arg(long)]
    ignore_windows: bool,
    /// With --log-format json: the CloudWatch namespace of the Embedded Metric Format
    /// records printed on stdout after the pass (days left, rotations, failures,
    /// verifications; one per domain and one for the pass).
    #[arg(long, value_name = "NAME", default_value = crate::emf::DEFAULT_NAMESPACE,
              value_parser = crate::emf::parse_namespace)]
    emf_namespace: String,
}

/// `discover`'s arguments.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A configuration: the accounts of its role_arns are scanned too, and its domains count
    /// as managed.
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Also scan this account (12 digits), through --role-name; repeatable.
    #[arg(long = "account", value_name = "ID", requires = "role_name", value_parser = account_id)]
    accounts: Vec<String>,
    /// The role assumed in each account of --account and --organization.
    #[arg(long, value_name = "NAME")]
    role_name: Option<String>,
    /// Scan every ACTIVE account of the AWS Organization (organizations:ListAccounts).
    #[arg(long, requires = "role_name")]
    organization: bool,
    /// Only these regions (comma-separated); default: every region with Cognito user pools.
    #[arg(long, value_name = "REGION,...", value_delimiter = ',', value_parser = region_name)]
    regions: Vec<String>,
    /// text: two tables (custom domains, other consumers); json: every domain, consumer and
    /// failed scope; yaml: a fleet file of the domains and consumers not managed yet.
    #[arg(long, short, value_enum, default_value_t = DiscoverOutput::Text)]
    output: DiscoverOutput,
    /// Write one fleet file per account into DIR (DIR/ACCOUNT.yaml) instead of printing;
    /// an existing file is never overwritten.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
}

/// `discover --output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiscoverOutput {
    /// A table for people, with a summary line.
    Text,
    /// `{"domains": [...], "errors": [...]}`.
    Json,
    /// A fleet file of the domains not managed yet.
    Yaml,
}

fn account_id(text: &str) -> Result<String, crate::config::values::InvalidValue> {
    crate::config::AccountId::parse(text).map(|a| a.0)
}

fn region_name(text: &str) -> Result<String, crate::config::values::InvalidValue> {
    crate::config::RegionName::parse(text).map(|r| r.0)
}

/// `state` subcommands.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Create the DynamoDB state table if it is missing (on-demand billing, keys pk + sk, TTL
    /// on expires_at), wait until it is ACTIVE, and say what was done. Running it again
    /// changes nothing and exits 0. Needs dynamodb:CreateTable, DescribeTable,
    /// UpdateTimeToLive and DescribeTimeToLive (the daemon itself does not).
    Init(ConfigArg),
    /// Read the state (the file, or the DynamoDB table) and report every record that cannot be
    /// used, with its line in the file, and what to do about it. Writes nothing. Exit 0 when
    /// every record is usable, 1 when some are not, 2 when the state cannot be read at all.
    Check(ConfigArg),
}

/// The configuration file argument.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The YAML configuration file (see config/cognito-cert-rotator.example.yaml). Without it,
    /// the YAML is read from the CCR_CONFIG_YAML environment variable (for containers).
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    /// Load and validate the configuration from the file or the environment.
    pub fn load(&self) -> Result<Config, crate::config::ConfigError> {
        Config::from_file_or_env(self.config.as_deref())
    }
}

/// Run a parsed command line; the returned number is the exit code. Each subcommand is one
/// function in `commands`.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let json_logs = cli.log_format == LogFormat::Json;
    match cli.command {
        Command::Validate(config) => commands::validate(&config),
        Command::Plan { config, output } => commands::plan(&config, output).await,
        Command::Once(args) => commands::once(args, json_logs).await,
        Command::Run { config, now } => commands::run(&config, now).await,
        Command::Status { config, output } => commands::status(&config, output).await,
        Command::State {
            command: StateCommand::Init(config),
        } => commands::state_init(&config).await,
        Command::State {
            command: StateCommand::Check(config),
        } => commands::state_check(&config).await,
        Command::Forget { config, domains } => commands::forget(&config, &domains).await,
        Command::Discover(args) => commands::discover(args).await,
    }
}
