//! The daemon's loop: ticks in, one pass at a time out. A tick that arrives during a pass is
//! dropped (never an overlapping pass); control messages (signals) end the loop. Takes its
//! ticks, controls and pass as arguments, so tests drive it with channels and paused time.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::human::fmt_duration;

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
                            info!("shutting down: letting the running pass finish (at most {})", fmt_duration(grace));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
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
        // The shutdown arrives 1 s into the pass, so the pass has surely started.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = ctl_tx.send(Control::Shutdown).await;
        });
        let started_passes = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let (s, f) = (started_passes.clone(), finished.clone());
        let started = Instant::now();
        let exit = event_loop(&mut ticks, &mut ctl, Duration::from_secs(30), || {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                f.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
        assert_eq!(exit, LoopExit::Shutdown);
        assert_eq!(started_passes.load(Ordering::SeqCst), 1, "the pass ran");
        assert_eq!(finished.load(Ordering::SeqCst), 0, "and was cut");
        // Cut exactly at the grace period after the shutdown request.
        assert_eq!(started.elapsed(), Duration::from_secs(31));
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
}
