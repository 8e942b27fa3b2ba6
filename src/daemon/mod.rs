//! `run`: the resident daemon. It makes no decisions of its own: it takes ticks from the
//! schedule ([`schedule`]) one at a time ([`event_loop()`]), runs [`crate::reconcile::pass`]
//! for each, and verifies each swap in its own task across passes
//! ([`crate::reconcile::verification::verify_and_record`]).
//!
//! Signals arrive as [`Control`] messages ([`signals`]), so tests drive the loop with their
//! own channel and paused time. SIGTERM/SIGINT: stop taking ticks, give an in-flight pass
//! `grace` to finish, stop verifications (the state keeps them for the next start), exit 0.
//! SIGHUP: reload the config; a bad one is reported and the old one keeps running.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::Instrument;
use tracing::{error, info, warn};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::context::{Context, Work};
use crate::error::Chain;
use crate::metrics::http::Health;
use crate::metrics::Metrics;
use crate::systemd::Notify;

mod claim;
pub mod consumer;
mod discovery;
mod edge;
mod health;
mod verifications;
use edge::EdgeWatcher;
use verifications::Verifications;
mod error;
pub mod event_loop;

mod pass;
pub mod schedule;
pub mod signals;
mod window;

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

/// The daemon: returns the exit code once a signal (`control`) ends it.
pub async fn run(
    config: Config,
    options: RunOptions,
    notifier: Arc<Notify>,
    signals: mpsc::Receiver<Control>,
    clock: SharedClock,
) -> Result<u8, DaemonError> {
    let metrics = Metrics::new();
    let (control_tx, mut control) = merged(signals);
    let (as_read, as_read_rx) = watch::channel(Arc::new(config.clone()));
    let Some(_claim) = claim::claim_or_stop(&config, &mut control).await? else {
        return Ok(crate::exit::OK);
    };
    let ctx = Context::build(config, metrics.clone(), None, clock.clone(), Work::Acting).await?;
    let health = Arc::new(Health::new(period(&ctx.config.schedule, clock.now())));
    let server = health::serve_metrics(&ctx, &metrics, &health).await?;
    let watchdog = health::spawn_watchdog(&notifier, &health);
    health::init_series(&ctx);
    // Ticks come from the schedule and, with DynamoDB state, from becoming the leader.
    let (tick_tx, mut ticks) = mpsc::channel::<Tick>(8);
    let (passes, passes_rx) = watch::channel(consumer::Passes::default());
    let mut daemon = Daemon::new(ctx, metrics, notifier, health, passes, &tick_tx, as_read);
    let lease_loop = daemon.start_leading(&tick_tx).await;
    let consumer = consumer::spawn(&daemon.ctx, tick_tx.clone(), passes_rx).await;
    let discovery = discovery::spawn(
        as_read_rx,
        daemon.ctx.lease.clone(),
        daemon.metrics.clone(),
        daemon.discovered.clone(),
        control_tx,
    );
    daemon.notifier.ready();
    info!(
        schedule = %daemon.ctx.config.schedule,
        targets = daemon.ctx.config.targets.len(),
        state = %daemon.ctx.state.summary(),
        "started"
    );
    if options.now {
        let _ = tick_tx.try_send(Tick::Schedule);
    }
    daemon
        .serve(&mut ticks, &mut control, options.grace, &tick_tx)
        .await?;
    let tasks = lease_loop
        .into_iter()
        .chain(consumer)
        .chain(watchdog)
        .chain(discovery);
    daemon.stop(tasks).await;
    if let Some(stop_server) = server {
        let _ = stop_server.send(());
    }
    Ok(crate::exit::OK)
}

/// Signals and discovery's reloads on one channel: the sender for discovery, the receiver for
/// the event loop.
fn merged(
    mut signals: mpsc::Receiver<Control>,
) -> (mpsc::Sender<Control>, mpsc::Receiver<Control>) {
    let (tx, rx) = mpsc::channel::<Control>(8);
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(c) = signals.recv().await {
            if forward.send(c).await.is_err() {
                return;
            }
        }
    });
    (tx, rx)
}

/// What the daemon keeps between passes; each pass, reload and the shutdown is a method.
struct Daemon {
    /// Config, clients, state, metrics, hooks: replaced as a whole by a reload.
    ctx: Context,
    /// The process's metrics (they outlive reloads).
    metrics: Metrics,
    /// sd_notify.
    notifier: Arc<Notify>,
    /// When the last pass finished, for /healthz and the watchdog.
    health: Arc<Health>,
    /// Verifications running in the background.
    verifications: Verifications,
    /// Edge probes after each pass.
    edge: EdgeWatcher,
    /// The lease epoch whose takeover has resumed the previous leader's work (0: none yet).
    resumed_epoch: Arc<AtomicU64>,
    /// Told when the lease is lost, so the pass in flight stops at once.
    lease_lost: Arc<tokio::sync::Notify>,
    /// Passes started and finished, for the event consumer.
    passes: watch::Sender<consumer::Passes>,
    /// Wakes a pass when a deferred swap's change window opens (or its freeze ends).
    opening: window::Opening,
    /// The targets `discovery:` manages now.
    discovered: discovery::Discovered,
    /// The configuration as read from the file, for discovery (which adds to it).
    as_read: watch::Sender<Arc<Config>>,
}

impl Daemon {
    fn new(
        ctx: Context,
        metrics: Metrics,
        notifier: Arc<Notify>,
        health: Arc<Health>,
        passes: watch::Sender<consumer::Passes>,
        tick_tx: &mpsc::Sender<Tick>,
        as_read: watch::Sender<Arc<Config>>,
    ) -> Daemon {
        Daemon {
            ctx,
            metrics,
            notifier,
            health,
            verifications: Verifications::default(),
            edge: EdgeWatcher::default(),
            resumed_epoch: Arc::new(AtomicU64::new(0)),
            lease_lost: Arc::new(tokio::sync::Notify::new()),
            passes,
            opening: window::Opening::new(tick_tx.clone()),
            discovered: Arc::default(),
            as_read,
        }
    }

    /// Take ticks until a shutdown, one schedule per configuration (a reload starts the
    /// new one).
    async fn serve(
        &mut self,
        ticks: &mut mpsc::Receiver<Tick>,
        control: &mut mpsc::Receiver<Control>,
        grace: Duration,
        tick_tx: &mpsc::Sender<Tick>,
    ) -> Result<(), DaemonError> {
        loop {
            let scheduler =
                schedule::start_scheduler(&self.ctx.config.schedule, tick_tx.clone()).await?;
            let exit = {
                let daemon = &*self;
                event_loop(ticks, control, grace, move |tick| daemon.tick(tick)).await
            };
            let _ = schedule::shutdown_scheduler(scheduler).await;
            match exit {
                LoopExit::Shutdown => return Ok(()),
                LoopExit::Reload => self.reload().await,
            }
        }
    }

    /// Resume what a stop left in flight (file backend: at once), or start the lease loop
    /// (DynamoDB: the first pass of each new epoch resumes).
    async fn start_leading(
        &self,
        ticks: &mpsc::Sender<Tick>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let Some(lease) = &self.ctx.lease else {
            // The file backend: one host, always the leader.
            self.metrics.leader.set(1);
            for job in crate::resume::resume(&self.ctx).await {
                self.verifications.spawn(&self.ctx, job);
            }
            return None;
        };
        let (v, resumed) = (self.verifications.clone(), self.resumed_epoch.clone());
        let lost = self.lease_lost.clone();
        let wake = ticks.clone();
        Some(crate::lease::run::spawn(
            lease.clone(),
            self.metrics.clone(),
            move || Tick::owe(&wake),
            move || {
                v.abort_all();
                // The pass in flight stops too: it acts no further without the lease.
                lost.notify_waiters();
                // Whatever epoch comes next, its first pass resumes the stopped work.
                resumed.store(0, Ordering::SeqCst);
            },
        ))
    }

    /// One tick of the event loop: a pass, or a standby's report.
    async fn tick(&self, tick: Tick) {
        self.passes.send_modify(|p| p.started += 1);
        let number = self.passes.borrow().started;
        // The epoch this tick works under, read once: every request of the pass (and of the
        // verifications it starts) goes out only while this replica still leads at it.
        let epoch = self.ctx.lease.as_ref().and_then(|l| l.epoch());
        let work = async {
            if !self.standing_by(epoch).await {
                self.pass(&tick).await;
            }
        };
        let work = crate::lease::guard::carry_epoch(epoch, work);
        if !unless_lost(work, &self.lease_lost)
            .instrument(tracing::info_span!("pass", n = number))
            .await
        {
            // Stopping mid-pass is what a crash is, and is settled the same way: an intent
            // without its write, or a write without its record, is resolved by the next
            // leader's resume (which re-reads the domain first).
            warn!("lost the lease during the pass: it stops here, and the next leader settles what it left");
        }
        self.passes.send_modify(|p| p.finished += 1);
    }

    /// SIGHUP: the new configuration, or the old one kept with the reason logged.
    async fn reload(&mut self) {
        self.notifier.reloading();
        let discovered = self
            .discovered
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        match reload(&self.ctx, &self.metrics, &discovered, &self.as_read).await {
            Ok(ctx) => {
                info!(path = %ctx.config.path.display(), targets = ctx.config.targets.len(), "configuration reloaded");
                health::init_series(&ctx);
                self.ctx = ctx;
            }
            Err(e) => {
                error!(
                    "reload failed, keeping the running configuration: {}",
                    Chain(&e)
                );
                self.notifier
                    .status(&format!("reload failed: {}", Chain(&e)));
            }
        }
        self.notifier.ready();
    }

    /// Stop everything in the background and give the lease up; verifications in flight stay
    /// in the state for the next start (or leader).
    async fn stop(&self, tasks: impl Iterator<Item = tokio::task::JoinHandle<()>>) {
        self.notifier.stopping();
        info!("stopping: verifications in flight stay in the state and resume at the next start (or on the next leader)");
        self.verifications.abort_all();
        self.edge.stop();
        self.opening.cancel();
        for handle in tasks {
            handle.abort();
        }
        if let Some(lease) = &self.ctx.lease {
            // A standby need not wait the lease out.
            lease.release().await;
            self.metrics.leader.set(0);
        }
        self.ctx.hooks.finish().await;
        self.ctx.notices.finish(Duration::from_secs(10)).await;
    }
}

async fn reload(
    ctx: &Context,
    metrics: &Metrics,
    discovered: &[crate::config::Target],
    as_read: &watch::Sender<Arc<Config>>,
) -> Result<Context, DaemonError> {
    let read = ctx.config.reload()?;
    as_read.send_replace(Arc::new(read.clone()));
    let config = read.with_discovered(discovered);
    if config.state != ctx.config.state {
        return Err(DaemonError::StateBackendChanged);
    }
    if config.events != ctx.config.events {
        warn!("events: changed; the event queue changes at the next restart");
    }
    if config.metrics_listen != ctx.config.metrics_listen {
        warn!("metrics.listen changed; the new address takes effect at the next restart");
    }
    Ok(Context::build(
        config,
        metrics.clone(),
        Some(ctx),
        ctx.clock.clone(),
        Work::Acting,
    )
    .await?)
}

/// Run `work` unless `lost` is told first; `false` when it was cut short.
async fn unless_lost(
    work: impl std::future::Future<Output = ()>,
    lost: &tokio::sync::Notify,
) -> bool {
    let told = lost.notified();
    tokio::pin!(told);
    // Registered before `work` first runs, so a loss during its first step is not missed.
    told.as_mut().enable();
    tokio::select! {
        () = work => true,
        () = told => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn losing_the_lease_ends_the_pass_in_flight_at_once() {
        let lost = Arc::new(tokio::sync::Notify::new());
        let acted = Arc::new(AtomicU64::new(0));
        let (l, a) = (lost.clone(), acted.clone());
        let pass = tokio::spawn(async move {
            unless_lost(
                async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    // The write this pass would make after its long wait.
                    a.fetch_add(1, Ordering::SeqCst);
                },
                &l,
            )
            .await
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        lost.notify_waiters();
        assert!(!pass.await.unwrap(), "the pass ran on without the lease");
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(acted.load(Ordering::SeqCst), 0);
        // A pass with no loss runs to its end.
        let done = unless_lost(async {}, &lost).await;
        assert!(done);
    }
}
