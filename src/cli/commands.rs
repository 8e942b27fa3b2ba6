//! One function per subcommand, each returning the exit code. They compose the library's parts
//! and print; none decides anything itself.

use std::sync::Arc;

use anyhow::Context as _;
use tracing::{info, warn};

use super::{ConfigArg, DiscoverArgs, DiscoverOutput, OnceArgs, Output};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, StateBackend};
use crate::context::{open_state, Context, Work, Writes};
use crate::exit;
use crate::metrics::Metrics;
use crate::report::PlanWriter;
use crate::step::Mode;

/// `validate`: the configuration as understood, or its first error.
pub fn validate(config: &ConfigArg) -> anyhow::Result<u8> {
    let config = config.load()?;
    print!("{}", config.summary());
    Ok(exit::OK)
}

/// `plan`: every target's decision, written as soon as it is made.
pub async fn plan(config: &ConfigArg, output: Output) -> anyhow::Result<u8> {
    let (config, _) = with_discovery(config.load()?).await;
    let ctx = context(config, Work::ReadOnly).await?;
    let format = match output {
        Output::Json => crate::report::Format::Json,
        Output::Text => crate::report::Format::Text,
    };
    let mut writer = PlanWriter::new(std::io::BufWriter::new(std::io::stdout().lock()), format);
    // External changes are judged against the state; a plan that cannot read it still plans.
    let state = ctx.state.snapshot().await.unwrap_or_default();
    let now = ctx.clock.now();
    // Each target is written as soon as it is decided, and dropped.
    let mut failed = None;
    crate::plan::each(&ctx, now, &mut |p| {
        let record = state.domains.get(&p.target.domain);
        let moved = crate::step::external::external_change(&p, record, now);
        let window = (p.decision.action == crate::select::Action::Swap)
            .then(|| p.target.policy.note(p.decision.current.as_ref(), now))
            .flatten();
        if failed.is_none() {
            failed = writer.target(&p, moved.why(), window).err();
        }
    })
    .await;
    let retire = crate::retire::review::planned(&ctx, &state, now).await;
    match failed {
        Some(e) => Err(e),
        None => writer.finish(&retire),
    }
    .context("writing the plan to stdout")?;
    Ok(exit::OK)
}

/// `once`: one pass, under the lease when the state is shared; EMF records with JSON logs.
pub async fn once(args: OnceArgs, json_logs: bool) -> anyhow::Result<u8> {
    let OnceArgs {
        config,
        wait,
        dry_run,
        lease_wait,
        emf_namespace,
        ignore_windows,
    } = args;
    let work = if dry_run {
        Work::ReadOnly
    } else {
        Work::Acting
    };
    let mut config = config.load()?;
    config.ignore_windows = ignore_windows;
    // One acting process per state file: a second `once` (the timer beside the daemon) stops
    // here, before it reads anything. A dry run acts on nothing and needs no claim.
    let _claim = if dry_run {
        crate::state::Claim::not_needed()
    } else {
        crate::context::claim_state(&config, false).await?
    };
    let mut ctx = context(config, work).await?;
    // With DynamoDB state, act only while holding the lease (a dry run writes nothing and
    // needs none).
    let holding = match (&ctx.lease, dry_run) {
        (Some(lease), false) => Some(
            crate::lease::hold::take(lease.clone(), lease_wait.unwrap_or_default(), &ctx.metrics)
                .await?,
        ),
        _ => None,
    };
    if ctx.config.discovery.is_some() {
        // Under the lease (when acting): only the one acting looks.
        let (config, _) = with_discovery((*ctx.config).clone()).await;
        ctx = Context::build(config, ctx.metrics.clone(), Some(&ctx), clock(), work).await?;
    }
    if dry_run {
        info!("dry run: no write call will be made");
    } else if !wait && ctx.config.rollout.enabled() {
        warn!("rollout: is set but --wait is not: a canary swapped now is not verified, so the rest of its rollout stays blocked; use --wait (or the daemon)");
    }
    let mode = if dry_run { Mode::DryRun } else { Mode::Once };
    // The pass is work of the epoch taken: nothing is sent once the lease is lost.
    let epoch = ctx.lease.as_ref().and_then(|l| l.epoch());
    let results = crate::lease::guard::carry_epoch(
        epoch,
        crate::reconcile::verification::once(&ctx, mode, wait),
    )
    .await;
    if let Some(holding) = holding {
        holding.release().await;
    }
    let emf = (json_logs && !dry_run).then_some(emf_namespace.as_str());
    Ok(report_once(&ctx, &results, emf, dry_run))
}

/// The end of `once`: each target's summary line, the EMF records (`emf`: their namespace,
/// when wanted), the pass's line, and the exit code.
fn report_once(
    ctx: &Context,
    results: &[(crate::planned::Planned, crate::outcome::Outcome)],
    emf: Option<&str>,
    dry_run: bool,
) -> u8 {
    let failed = crate::report::log_summaries(results);
    if let Some(namespace) = emf {
        // CloudWatch Logs reads each line of a task's output as one EMF record.
        for record in crate::emf::records(results, namespace, ctx.clock.now()) {
            println!("{record}");
        }
    }
    info!(
        targets = results.len(),
        failed,
        "pass finished{}",
        if dry_run { " (dry run)" } else { "" }
    );
    if failed > 0 {
        exit::TARGET_FAILED
    } else {
        exit::OK
    }
}

/// `run`: the daemon, until a signal ends it.
pub async fn run(config: &ConfigArg, now: bool) -> anyhow::Result<u8> {
    let config = config.load()?;
    let control = crate::daemon::os_signals()?;
    let notifier = Arc::new(crate::systemd::Notify::from_env());
    let options = crate::daemon::RunOptions {
        now,
        grace: std::time::Duration::from_secs(30),
    };
    Ok(crate::daemon::run(config, options, notifier, control, clock()).await?)
}

/// `forget DOMAIN...`: clear what the state holds against those domains.
pub async fn forget(config: &ConfigArg, domains: &[String]) -> anyhow::Result<u8> {
    let config = config.load()?;
    let sdk = crate::aws::load_sdk_config().await;
    let (store, _) = open_state(
        &config,
        &sdk,
        &Metrics::new(),
        &clock(),
        Writes::Unfenced(domains),
    )
    .await?;
    let lines = crate::record::forget(&store, domains)
        .await
        .with_context(|| format!("updating the state in {}", store.summary()))?;
    println!("state: {}", store.summary());
    for (domain, line) in domains.iter().zip(lines) {
        if !config.targets.iter().any(|t| &t.domain == domain) {
            println!("{domain}: note: not in the configuration");
        }
        println!("{domain}: {line}");
    }
    Ok(exit::OK)
}

/// `state init`: create the DynamoDB state table if it is missing.
pub async fn state_init(config: &ConfigArg) -> anyhow::Result<u8> {
    let config = config.load()?;
    let StateBackend::DynamoDb(d) = &config.state else {
        anyhow::bail!(
            "{}: no state: {{dynamodb: {{table: ...}}}} in the configuration; the state file needs no setup",
            config.path.display()
        );
    };
    let sdk = crate::aws::load_sdk_config().await;
    let table = crate::context::state_table(d, &sdk, &Metrics::new());
    let done =
        crate::aws::table_setup::init(&table, std::time::Duration::from_secs(300), &|line| {
            info!("{line}")
        })
        .await?;
    if done.is_empty() {
        println!(
            "table {} in {}: already set up (keys pk + sk, TTL on expires_at); nothing to do",
            table.name(),
            table.region()
        );
    }
    for line in done {
        println!("{line}");
    }
    Ok(exit::OK)
}

/// `state check`: every record of the state that cannot be used.
pub async fn state_check(config: &ConfigArg) -> anyhow::Result<u8> {
    let config = config.load()?;
    let (summary, checked) = match &config.state {
        StateBackend::File(path) => (
            format!("state file {}", path.display()),
            crate::state::decode::check_file(path)?,
        ),
        StateBackend::DynamoDb(d) => {
            let sdk = crate::aws::load_sdk_config().await;
            let table = crate::context::state_table(d, &sdk, &Metrics::new());
            let summary = format!("DynamoDB table {} ({})", table.name(), table.region());
            let store = crate::state::DynamoStore::new(table, None);
            (summary, store.check().await?)
        }
    };
    for d in &checked.damage {
        let line = d.line.map(|l| format!(":{l}")).unwrap_or_default();
        println!("{summary}{line}: {}: {}", d.record, d.why);
    }
    println!(
        "{summary}: {} record(s), {} unusable",
        checked.records,
        checked.damage.len()
    );
    if checked.damage.is_empty() {
        return Ok(exit::OK);
    }
    println!("to recover: `forget DOMAIN` drops a damaged domain record (with its denylist, hold and backoff); with a state file, its .bak holds the state before the last write; a record written by a newer version is read by that version");
    Ok(exit::TARGET_FAILED)
}

/// `status`: every target's health, the edge, and who leads; exit 1 when any is unhealthy.
pub async fn status(config: &ConfigArg, output: Output) -> anyhow::Result<u8> {
    let (config, unmanaged) = with_discovery(config.load()?).await;
    let ctx = context(config, Work::ReadOnly).await?;
    let now = ctx.clock.now();
    let planned = crate::plan::all(&ctx, now).await;
    let state = ctx
        .state
        .snapshot()
        .await
        .with_context(|| format!("reading the state in {}", ctx.state.summary()))?;
    let next = crate::daemon::next_tick(&ctx.config.schedule, now);
    let mut report =
        crate::status::StatusReport::new(&planned, &state, now, next, &ctx.config.rollout);
    // What clients see now: one handshake per domain (the TLS check on).
    let cache = crate::edge::SerialCache::default();
    let looks = futures_util::future::join_all(
        planned
            .iter()
            .map(|p| crate::edge::look(&ctx, &p.target, p.decision.current.as_ref(), &cache)),
    )
    .await;
    for (row, look) in report.targets.iter_mut().zip(looks) {
        row.edge = look.map(|l| crate::status::EdgeRow::of(&l));
    }
    report.unmanaged = unmanaged;
    if let Some(lease) = &ctx.lease {
        report.leader = Some(crate::lease::hold::who_leads(
            &lease.current().await,
            now.timestamp_millis(),
        ));
    }
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing the status as JSON")?
        ),
        Output::Text => print!("{}", report.to_text()),
    }
    Ok(if report.healthy() {
        exit::OK
    } else {
        exit::TARGET_FAILED
    })
}

/// The wall clock: the one place the binary picks it.
fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// With `discovery:`, the configuration with the tagged user pools' and consumers' targets,
/// and a line for each custom domain or consumer found but neither listed nor tagged
/// (read-only).
async fn with_discovery(config: Config) -> (Config, Vec<String>) {
    if config.discovery.is_none() {
        return (config, Vec::new());
    }
    let sdk = crate::aws::load_sdk_config().await;
    let look = crate::discovery::scan::tagged(&config, &sdk, &Metrics::new()).await;
    (
        config.with_discovered(&look.targets),
        look.unmanaged_lines(),
    )
}

/// Build the clients, probe, state store, metrics and hooks for a configuration.
async fn context(config: Config, work: Work) -> anyhow::Result<Context> {
    Ok(Context::build(config, Metrics::new(), None, clock(), work).await?)
}

/// `discover`: every custom domain the scopes reach, printed or written as fleet files.
pub async fn discover(args: DiscoverArgs) -> anyhow::Result<u8> {
    use crate::discovery::{scan, COGNITO_REGIONS};
    let config = args.config.as_deref().map(Config::load).transpose()?;
    let regions = if args.regions.is_empty() {
        COGNITO_REGIONS.iter().map(|r| (*r).to_string()).collect()
    } else {
        args.regions
    };
    let options = scan::Options {
        config,
        accounts: args.accounts,
        role_name: args.role_name,
        organization: args.organization,
        regions,
    };
    let sdk = crate::aws::load_sdk_config().await;
    let found = scan::discover(&sdk, &options, &Metrics::new()).await;
    let now = clock().now();
    let mut failed = !found.errors.is_empty();
    match (&args.write, args.output) {
        (Some(dir), _) => {
            failed |= !write_fleet_files(dir, &found, now)?;
            info!("{}", found.summary());
        }
        (None, DiscoverOutput::Text) => print!("{}", found.text(now)),
        (None, DiscoverOutput::Json) => println!(
            "{}",
            serde_json::to_string_pretty(&found).context("writing JSON")?
        ),
        (None, DiscoverOutput::Yaml) => {
            print!("{}", found.fleet_yaml(now));
            info!("{}", found.summary());
        }
    }
    // The text table lists them itself.
    if args.output != DiscoverOutput::Text || args.write.is_some() {
        for e in &found.errors {
            tracing::error!(
                account = %e.account,
                region = e.region.as_deref().unwrap_or("(every region)"),
                "cannot read this scope: {}",
                e.error
            );
        }
    }
    Ok(if failed {
        exit::TARGET_FAILED
    } else {
        exit::OK
    })
}

/// `discover --write DIR`: one fleet file per account, never over an existing one. `false`
/// when some could not be written (each said).
fn write_fleet_files(
    dir: &std::path::Path,
    found: &crate::discovery::Discovery,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = true;
    for (account, text) in found.fleet_files(now) {
        let path = dir.join(format!("{account}.yaml"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        match file.and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes())) {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                tracing::error!(
                    "{} exists; not overwritten (move it away, or include it as it is)",
                    path.display()
                );
                written = false;
            }
            Err(e) => {
                tracing::error!("{}: {e}", path.display());
                written = false;
            }
        }
    }
    Ok(written)
}
