//! `run`: the resident daemon. tokio-cron-scheduler turns the cron schedule into ticks; a
//! single loop takes ticks one at a time (a tick that fires while a pass runs is skipped, so
//! passes never overlap), while each swap's verification runs as its own task across passes.
//!
//! Signals arrive as [`Control`] messages, so tests drive the loop with their own channel and
//! paused time. SIGTERM/SIGINT: stop taking ticks, give an in-flight pass `grace` to finish,
//! stop verifications (the state file keeps them for the next start), exit 0. SIGHUP: reload
//! the config; a bad one is reported and the old one keeps running.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_cron_scheduler::{Job, JobScheduler};
use tracing::{error, info, warn};

use crate::act::VerifyJob;
use crate::cli::build_context;
use crate::config::{parse_cron, Config};
use crate::metrics::{Health, Metrics};
use crate::notify::Notifier;
use crate::reconcile::Context;

/// What the outside world asks of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// SIGTERM / SIGINT.
    Shutdown,
    /// SIGHUP.
    Reload,
}

/// Why the loop returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopExit {
    /// Stop the process.
    Shutdown,
    /// Reload the configuration, then loop again.
    Reload,
}

/// Take ticks one at a time and run `pass` for each; ticks that arrive during a pass are
/// dropped (counted in the log). Returns on a control message; a shutdown during a pass gives
/// the pass `grace` to finish first, a reload lets it finish.
pub async fn event_loop<F, Fut>(
    ticks: &mut mpsc::Receiver<()>,
    control: &mut mpsc::Receiver<Control>,
    grace: Duration,
    mut pass: F,
) -> LoopExit
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tokio::select! {
            c = control.recv() => {
                return match c {
                    Some(Control::Reload) => LoopExit::Reload,
                    Some(Control::Shutdown) | None => LoopExit::Shutdown,
                };
            }
            tick = ticks.recv() => {
                if tick.is_none() {
                    return LoopExit::Shutdown;
                }
                let running = pass();
                tokio::pin!(running);
                let mut reload_after = false;
                tokio::select! {
                    _ = &mut running => {}
                    c = control.recv() => match c {
                        Some(Control::Reload) => {
                            running.await;
                            reload_after = true;
                        }
                        Some(Control::Shutdown) | None => {
                            info!("shutting down: letting the running pass finish (at most {})", crate::human::fmt_duration(grace));
                            if tokio::time::timeout(grace, running).await.is_err() {
                                warn!("the pass did not finish in time; stopping it (the state file keeps any swap in flight)");
                            }
                            return LoopExit::Shutdown;
                        }
                    },
                }
                let mut skipped = 0;
                while ticks.try_recv().is_ok() {
                    skipped += 1;
                }
                if skipped > 0 {
                    warn!(skipped, "the pass outlasted the schedule; skipped ticks instead of overlapping passes");
                }
                if reload_after {
                    return LoopExit::Reload;
                }
            }
        }
    }
}

/// The next time `schedule` fires after `after`.
pub fn next_tick(schedule: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    parse_cron(schedule)
        .ok()?
        .find_next_occurrence(&after, false)
        .ok()
}

/// The time between two ticks, for the health check.
pub fn period(schedule: &str, now: DateTime<Utc>) -> Duration {
    let first = next_tick(schedule, now);
    let second = first.and_then(|f| next_tick(schedule, f));
    match (first, second) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(900)),
        _ => Duration::from_secs(900),
    }
}

/// Listen for SIGTERM, SIGINT and SIGHUP.
pub fn os_signals() -> anyhow::Result<mpsc::Receiver<Control>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let c = tokio::select! {
                _ = term.recv() => Control::Shutdown,
                _ = int.recv() => Control::Shutdown,
                _ = hup.recv() => Control::Reload,
            };
            if tx.send(c).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// Verifications running in the background, so shutdown can stop them.
#[derive(Debug, Clone, Default)]
struct Verifications(Arc<Mutex<Vec<AbortHandle>>>);

impl Verifications {
    fn spawn(&self, ctx: &Context, job: VerifyJob) {
        let ctx = ctx.clone();
        let handle = tokio::spawn(async move {
            match ctx.run_verification(&job).await {
                Ok(detail) => info!(domain = %job.target.domain, "{detail}"),
                Err(detail) => error!(domain = %job.target.domain, "{detail}"),
            }
        });
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

/// Options of `run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run a pass at start-up too.
    pub now: bool,
    /// How long an in-flight pass may take to finish on shutdown.
    pub grace: Duration,
}

/// The daemon: returns the exit code.
pub async fn run(
    config: Config,
    options: RunOptions,
    notifier: Arc<Notifier>,
    mut control: mpsc::Receiver<Control>,
) -> anyhow::Result<u8> {
    let metrics = Metrics::new();
    let mut ctx = build_context(config, metrics.clone(), None).await?;
    let health = Arc::new(Health::new(period(&ctx.config.schedule, Utc::now())));
    let (stop_server_tx, stop_server_rx) = tokio::sync::oneshot::channel::<()>();
    if let Some(addr) = ctx.config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("metrics.listen {addr}: cannot listen"))?;
        let addr = listener.local_addr().unwrap_or(addr);
        info!(%addr, "serving /metrics and /healthz");
        tokio::spawn(crate::metrics::serve(
            listener,
            metrics.clone(),
            health.clone(),
            async {
                let _ = stop_server_rx.await;
            },
        ));
    }
    if let Some(every) = notifier.watchdog_interval() {
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
        });
    }

    let verifications = Verifications::default();
    for job in ctx.resume().await {
        verifications.spawn(&ctx, job);
    }
    notifier.ready();
    info!(
        schedule = %ctx.config.schedule,
        targets = ctx.config.targets.len(),
        state_file = %ctx.state.path().display(),
        "started"
    );
    let mut first = options.now;
    loop {
        let (tick_tx, mut ticks) = mpsc::channel::<()>(1);
        let scheduler = start_scheduler(&ctx.config.schedule, tick_tx.clone()).await?;
        if first {
            let _ = tick_tx.try_send(());
            first = false;
        }
        let exit = {
            let ctx = &ctx;
            let verifications = &verifications;
            let notifier = &notifier;
            let health = &health;
            let metrics = &metrics;
            event_loop(
                &mut ticks,
                &mut control,
                options.grace,
                move || async move {
                    let started = tokio::time::Instant::now();
                    let result = ctx.pass(Utc::now(), false, true).await;
                    let mut results = result.results;
                    for job in &result.jobs {
                        crate::act::mark_verifying(&mut results, job);
                    }
                    let failing = crate::report::log_summaries(&results);
                    for job in result.jobs {
                        verifications.spawn(ctx, job);
                    }
                    metrics
                        .pass_duration
                        .observe(started.elapsed().as_secs_f64());
                    metrics.last_pass.set(Utc::now().timestamp() as f64);
                    health.pass_finished();
                    let verifying = ctx
                        .state
                        .snapshot()
                        .await
                        .domains
                        .values()
                        .filter(|r| r.pending.is_some())
                        .count();
                    let next = next_tick(&ctx.config.schedule, Utc::now())
                        .map_or_else(|| "none".to_string(), |t| t.format("%H:%M:%SZ").to_string());
                    let status = format!(
                        "{} domains, {verifying} verifying, {failing} failing, next pass {next}",
                        ctx.config.targets.len()
                    );
                    info!("pass finished: {status}");
                    notifier.status(&status);
                },
            )
            .await
        };
        let _ = shutdown_scheduler(scheduler).await;
        match exit {
            LoopExit::Shutdown => break,
            LoopExit::Reload => {
                notifier.reloading();
                match reload(&ctx, &metrics).await {
                    Ok(new_ctx) => {
                        info!(path = %new_ctx.config.path.display(), targets = new_ctx.config.targets.len(), "configuration reloaded");
                        ctx = new_ctx;
                    }
                    Err(e) => {
                        error!("reload failed, keeping the running configuration: {e:#}");
                        notifier.status(&format!("reload failed: {e:#}"));
                    }
                }
                notifier.ready();
            }
        }
    }
    notifier.stopping();
    info!("stopping: verifications in flight stay in the state file and resume at the next start");
    verifications.abort_all();
    ctx.hooks.finish().await;
    let _ = stop_server_tx.send(());
    Ok(crate::exit::OK)
}

async fn reload(ctx: &Context, metrics: &Metrics) -> anyhow::Result<Context> {
    let config = ctx.config.reload()?;
    if config.metrics_listen != ctx.config.metrics_listen {
        warn!("metrics.listen changed; the new address takes effect at the next restart");
    }
    build_context(config, metrics.clone(), Some(ctx.state.clone())).await
}

async fn start_scheduler(schedule: &str, ticks: mpsc::Sender<()>) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new()
        .await
        .context("starting the scheduler")?;
    let job = Job::new_async(schedule, move |_id, _lock| {
        let ticks = ticks.clone();
        Box::pin(async move {
            // A full channel means a tick is already waiting or a pass is running: drop it.
            let _ = ticks.try_send(());
        })
    })
    .with_context(|| format!("schedule \"{schedule}\""))?;
    scheduler.add(job).await.context("scheduling the passes")?;
    scheduler.start().await.context("starting the scheduler")?;
    Ok(scheduler)
}

async fn shutdown_scheduler(mut scheduler: JobScheduler) -> anyhow::Result<()> {
    scheduler.shutdown().await.context("stopping the scheduler")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::time::Instant;

    fn ticker(every: Duration) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            let mut i = tokio::time::interval(every);
            loop {
                i.tick().await;
                // As the real scheduler does: a full channel drops the tick.
                if let Err(mpsc::error::TrySendError::Closed(())) = tx.try_send(()) {
                    return;
                }
            }
        });
        rx
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_run_passes_on_schedule() {
        let mut ticks = ticker(Duration::from_secs(900));
        let (ctl_tx, mut ctl) = mpsc::channel(1);
        let passes = Arc::new(AtomicUsize::new(0));
        let counter = passes.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3 * 900 + 10)).await;
            let _ = ctl_tx.send(Control::Shutdown).await;
        });
        let exit = event_loop(&mut ticks, &mut ctl, Duration::from_secs(5), || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
        assert_eq!(exit, LoopExit::Shutdown);
        // t = 0, 900, 1800, 2700.
        assert_eq!(passes.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_pass_is_never_overlapped_and_late_ticks_are_skipped() {
        let mut ticks = ticker(Duration::from_secs(60));
        let (ctl_tx, mut ctl) = mpsc::channel(1);
        let running = Arc::new(AtomicUsize::new(0));
        let max_running = Arc::new(AtomicUsize::new(0));
        let passes = Arc::new(AtomicUsize::new(0));
        let (r, m, p) = (running.clone(), max_running.clone(), passes.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(600)).await;
            let _ = ctl_tx.send(Control::Shutdown).await;
        });
        event_loop(&mut ticks, &mut ctl, Duration::from_secs(1), || {
            let (r, m, p) = (r.clone(), m.clone(), p.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                // Each pass takes 150 s: two and a half schedule periods.
                tokio::time::sleep(Duration::from_secs(150)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                p.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
        assert_eq!(max_running.load(Ordering::SeqCst), 1);
        // Passes start at 0, 180, 360 (ticks at 60/120, 240/300... were dropped); the one
        // started at 540 is cut at the shutdown's grace.
        assert_eq!(passes.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_mid_pass_waits_for_the_pass_within_grace() {
        let (tick_tx, mut ticks) = mpsc::channel(1);
        let (ctl_tx, mut ctl) = mpsc::channel(1);
        tick_tx.send(()).await.unwrap();
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = ctl_tx.send(Control::Shutdown).await;
        });
        let started = Instant::now();
        let exit = event_loop(&mut ticks, &mut ctl, Duration::from_secs(30), || {
            let f = f.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(5)).await;
                f.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
        assert_eq!(exit, LoopExit::Shutdown);
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the in-flight pass finished"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pass_stuck_past_grace_is_cut() {
        let (tick_tx, mut ticks) = mpsc::channel(1);
        let (ctl_tx, mut ctl) = mpsc::channel(1);
        tick_tx.send(()).await.unwrap();
        ctl_tx.send(Control::Shutdown).await.unwrap();
        let started = Instant::now();
        // With the control message already queued, select! may take either branch first;
        // either way the loop must be out within the grace period.
        event_loop(&mut ticks, &mut ctl, Duration::from_secs(30), || async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        })
        .await;
        assert!(started.elapsed() <= Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn reload_mid_pass_lets_the_pass_finish_first() {
        let (tick_tx, mut ticks) = mpsc::channel(1);
        let (ctl_tx, mut ctl) = mpsc::channel(1);
        tick_tx.send(()).await.unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = ctl_tx.send(Control::Reload).await;
        });
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let exit = event_loop(&mut ticks, &mut ctl, Duration::from_secs(1), || {
            let d = d.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
                d.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
        assert_eq!(exit, LoopExit::Reload);
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn next_tick_and_period_follow_the_cron_expression() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T12:07:30Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = next_tick("0 */15 * * * *", at).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-11-23T12:15:00+00:00");
        assert_eq!(period("0 */15 * * * *", at), Duration::from_secs(900));
        assert_eq!(period("*/5 * * * * *", at), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn tokio_cron_scheduler_delivers_ticks() {
        // The one test on the wall clock: the real scheduler, every second, for ~2.5 s.
        let (tx, mut rx) = mpsc::channel(8);
        let scheduler = start_scheduler("* * * * * *", tx).await.unwrap();
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(2600);
        while let Ok(Some(())) = tokio::time::timeout_at(deadline, rx.recv()).await {
            got += 1;
        }
        shutdown_scheduler(scheduler).await.unwrap();
        assert!(got >= 2, "got {got} ticks");
    }
}
