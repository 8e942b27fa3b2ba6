//! `run`: the resident daemon. It makes no decisions of its own: it takes ticks from the
//! schedule ([`schedule`]) one at a time ([`event_loop()`]), runs [`crate::reconcile::pass`]
//! for each, and verifies each swap in its own task across passes
//! ([`crate::reconcile::verify_and_record`]).
//!
//! Signals arrive as [`Control`] messages ([`signals`]), so tests drive the loop with their
//! own channel and paused time. SIGTERM/SIGINT: stop taking ticks, give an in-flight pass
//! `grace` to finish, stop verifications (the state keeps them for the next start), exit 0.
//! SIGHUP: reload the config; a bad one is reported and the old one keeps running.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tracing::Instrument;
use tracing::{error, info, warn};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::context::Context;
use crate::error::Chain;
use crate::metrics::http::Health;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::outcome::Verification;
use crate::step::Mode;
use crate::verify::VerifyJob;

pub mod consumer;
mod edge_watch;
use edge_watch::EdgeWatcher;
mod error;
pub mod event_loop;
mod lead;
pub mod schedule;
pub mod signals;

pub use error::DaemonError;
pub use event_loop::{event_loop, Control, LoopExit, Tick};
pub use schedule::{next_tick, period};
pub use signals::os_signals;

/// Options of `run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run a pass at start-up too.
    pub now: bool,
    /// How long an in-flight pass may take to finish on shutdown.
    pub grace: Duration,
}

/// Verifications running in the background, so shutdown can stop them.
#[derive(Debug, Clone, Default)]
struct Verifications(Arc<Mutex<Vec<AbortHandle>>>);

impl Verifications {
    fn spawn(&self, ctx: &Context, job: VerifyJob) {
        let ctx = ctx.clone();
        let span = crate::reconcile::verify_span(&job);
        let handle = tokio::spawn(
            async move {
                match crate::reconcile::verify_and_record(&ctx, &job).await {
                    Verification::Verified(detail) => {
                        info!(domain = %job.target.domain, "{detail}")
                    }
                    other => error!(domain = %job.target.domain, "{}", other.describe()),
                }
            }
            .instrument(span),
        );
        if let Ok(mut all) = self.0.lock() {
            all.retain(|h| !h.is_finished());
            all.push(handle.abort_handle());
        }
    }

    fn abort_all(&self) {
        if let Ok(mut all) = self.0.lock() {
            for h in all.drain(..) {
                h.abort();
            }
        }
    }
}

/// The daemon: returns the exit code.
pub async fn run(
    config: Config,
    options: RunOptions,
    notifier: Arc<Notifier>,
    mut control: mpsc::Receiver<Control>,
    clock: SharedClock,
) -> Result<u8, DaemonError> {
    let metrics = Metrics::new();
    let mut ctx = Context::build(config, metrics.clone(), None, clock.clone()).await?;
    let health = Arc::new(Health::new(period(&ctx.config.schedule, clock.now())));
    let (stop_server_tx, stop_server_rx) = tokio::sync::oneshot::channel::<()>();
    if let Some(addr) = ctx.config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| DaemonError::Listen { addr, source })?;
        let addr = listener.local_addr().unwrap_or(addr);
        info!(%addr, "serving /metrics and /healthz");
        tokio::spawn(crate::metrics::http::serve(
            listener,
            metrics.clone(),
            health.clone(),
            async {
                let _ = stop_server_rx.await;
            },
        ));
    }
    let watchdog = notifier.watchdog_interval().map(|every| {
        let (n, h) = (notifier.clone(), health.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                // Only a loop that still finishes passes keeps systemd's watchdog quiet.
                if h.healthy() {
                    n.watchdog();
                }
            }
        })
    });

    init_series(&ctx);
    let verifications = Verifications::default();
    let edge = EdgeWatcher::default();
    let resumed_epoch = Arc::new(AtomicU64::new(0));
    // Ticks come from the schedule and, with DynamoDB state, from becoming the leader.
    let (tick_tx, mut ticks) = mpsc::channel::<Tick>(8);
    let (passes_tx, passes_rx) = watch::channel(consumer::Passes::default());
    let lease_loop = match &ctx.lease {
        None => {
            // The file backend: one host, always the leader.
            metrics.leader.set(1);
            for job in crate::resume::resume(&ctx).await {
                verifications.spawn(&ctx, job);
            }
            None
        }
        Some(lease) => {
            let (v, resumed) = (verifications.clone(), resumed_epoch.clone());
            Some(lead::spawn(
                lease.clone(),
                metrics.clone(),
                tick_tx.clone(),
                move || {
                    v.abort_all();
                    // Whatever epoch comes next, its first pass resumes the stopped work.
                    resumed.store(0, Ordering::SeqCst);
                },
            ))
        }
    };
    let consumer = consumer::spawn(&ctx, tick_tx.clone(), passes_rx).await;
    notifier.ready();
    info!(
        schedule = %ctx.config.schedule,
        targets = ctx.config.targets.len(),
        state = %ctx.state.describe(),
        "started"
    );
    if options.now {
        let _ = tick_tx.try_send(Tick::Schedule);
    }
    loop {
        let scheduler = schedule::start_scheduler(&ctx.config.schedule, tick_tx.clone()).await?;
        let exit = {
            let (ctx, verifications, notifier, health, resumed, edge, passes) = (
                &ctx,
                &verifications,
                &notifier,
                &health,
                &*resumed_epoch,
                &edge,
                &passes_tx,
            );
            event_loop(
                &mut ticks,
                &mut control,
                options.grace,
                move |tick| async move {
                    passes.send_modify(|p| p.started += 1);
                    let number = passes.borrow().started;
                    async {
                        if !standing_by(ctx, verifications, notifier, health, resumed).await {
                            daemon_pass(ctx, verifications, notifier, health, edge, &tick).await;
                        }
                    }
                    .instrument(tracing::info_span!("pass", n = number))
                    .await;
                    passes.send_modify(|p| p.finished += 1);
                },
            )
            .await
        };
        let _ = schedule::shutdown_scheduler(scheduler).await;
        match exit {
            LoopExit::Shutdown => break,
            LoopExit::Reload => {
                notifier.reloading();
                match reload(&ctx, &metrics).await {
                    Ok(new_ctx) => {
                        info!(path = %new_ctx.config.path.display(), targets = new_ctx.config.targets.len(), "configuration reloaded");
                        init_series(&new_ctx);
                        ctx = new_ctx;
                    }
                    Err(e) => {
                        error!(
                            "reload failed, keeping the running configuration: {}",
                            Chain(&e)
                        );
                        notifier.status(&format!("reload failed: {}", Chain(&e)));
                    }
                }
                notifier.ready();
            }
        }
    }
    notifier.stopping();
    info!("stopping: verifications in flight stay in the state and resume at the next start (or on the next leader)");
    verifications.abort_all();
    edge.stop();
    for handle in lease_loop.into_iter().chain(consumer).chain(watchdog) {
        handle.abort();
    }
    if let Some(lease) = &ctx.lease {
        // A standby need not wait the lease out.
        lease.release().await;
        metrics.leader.set(0);
    }
    ctx.hooks.finish().await;
    let _ = stop_server_tx.send(());
    Ok(crate::exit::OK)
}

/// The series the alerts rely on, at 0 before anything happens.
fn init_series(ctx: &Context) {
    let detail_types = if ctx.config.events.is_some() {
        crate::events::DETAIL_TYPES
    } else {
        &[]
    };
    ctx.metrics.init_series(
        ctx.config.targets.iter().map(|t| t.domain.as_str()),
        crate::model::KEPT_SETTINGS,
        detail_types,
    );
}

/// With DynamoDB state: `true` when this replica stands by (it then only reports, making no
/// ACM or Cognito call). A replica that has just become the leader first resumes what the
/// previous leader left in flight, with the original deadlines.
async fn standing_by(
    ctx: &Context,
    verifications: &Verifications,
    notifier: &Notifier,
    health: &Health,
    resumed_epoch: &AtomicU64,
) -> bool {
    let Some(lease) = &ctx.lease else {
        return false;
    };
    match lease.epoch() {
        Some(epoch) => {
            if resumed_epoch.swap(epoch, Ordering::SeqCst) != epoch {
                for job in crate::resume::resume(ctx).await {
                    verifications.spawn(ctx, job);
                }
            }
            false
        }
        None => {
            let who = crate::leader::who_leads(
                &lease.current().await,
                ctx.clock.now().timestamp_millis(),
            );
            let status = format!("standby: leader {who}");
            info!("{status}");
            notifier.status(&status);
            // A healthy standby is healthy: its loop runs.
            health.pass_finished();
            true
        }
    }
}

/// One scheduled pass: act, hand swaps to background verification, report.
async fn daemon_pass(
    ctx: &Context,
    verifications: &Verifications,
    notifier: &Notifier,
    health: &Health,
    edge: &EdgeWatcher,
    tick: &Tick,
) {
    let started = tokio::time::Instant::now();
    let trigger = match tick {
        Tick::Schedule => String::new(),
        Tick::Events(events) => {
            let summary = crate::events::summary(events);
            info!("pass triggered by {summary}");
            format!(" (triggered by {summary})")
        }
    };
    // An event may bring the certificate a failing target waits for: it tries them all.
    let mode = match tick {
        Tick::Schedule => Mode::Daemon,
        Tick::Events(_) => Mode::Event,
    };
    let result = crate::reconcile::pass(ctx, mode, ctx.clock.now()).await;
    let failing = crate::report::log_summaries(&result.results);
    for (planned, outcome) in &result.results {
        ctx.metrics.set_target_failing(
            &planned.target.domain,
            matches!(outcome, crate::outcome::Outcome::Failed(_)),
        );
    }
    for job in result.jobs {
        verifications.spawn(ctx, job);
    }
    let now = ctx.clock.now();
    ctx.metrics
        .pass_duration
        .observe(started.elapsed().as_secs_f64());
    ctx.metrics.last_pass.set(now.timestamp() as f64);
    health.pass_finished();
    let snapshot = ctx.state.snapshot().await;
    let in_flight: std::collections::HashSet<String> = match &snapshot {
        Ok(s) => s
            .domains
            .iter()
            .filter(|(_, r)| r.pending.is_some())
            .map(|(d, _)| d.clone())
            .collect(),
        // Unknown: judge no domain's match while its verification may be running.
        Err(_) => ctx
            .config
            .targets
            .iter()
            .map(|t| t.domain.clone())
            .collect(),
    };
    let verifying = match &snapshot {
        Ok(_) => in_flight.len().to_string(),
        Err(e) => format!("? (state unreadable: {})", Chain(e)),
    };
    edge.start(ctx, &result.results, in_flight);
    let next = next_tick(&ctx.config.schedule, now)
        .map_or_else(|| "none".to_string(), |t| t.format("%H:%M:%SZ").to_string());
    let role = if ctx.lease.is_some() { "leader: " } else { "" };
    let status = format!(
        "{role}{} domains, {verifying} verifying, {failing} failing, next pass {next}",
        ctx.config.targets.len()
    );
    info!("pass finished{trigger}: {status}");
    notifier.status(&status);
}

async fn reload(ctx: &Context, metrics: &Metrics) -> Result<Context, DaemonError> {
    let config = ctx.config.reload()?;
    if config.state != ctx.config.state {
        return Err(DaemonError::StateBackendChanged);
    }
    if config.events != ctx.config.events {
        warn!("events: changed; the event queue changes at the next restart");
    }
    if config.metrics_listen != ctx.config.metrics_listen {
        warn!("metrics.listen changed; the new address takes effect at the next restart");
    }
    Ok(Context::build(config, metrics.clone(), Some(ctx), ctx.clock.clone()).await?)
}
