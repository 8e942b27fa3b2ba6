//! The schedule: tokio-cron-scheduler turns the cron expression into ticks, and the cron
//! arithmetic `status` and the health check use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::error::DaemonError;
use super::event_loop::Tick;
use crate::config::parse_cron;

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

/// A running schedule: its scheduler and the switch that silences it.
pub struct Running {
    scheduler: JobScheduler,
    stopped: Arc<AtomicBool>,
}

/// Start tokio-cron-scheduler, sending a tick on `ticks` each time `schedule` fires, until
/// [`shutdown_scheduler`].
pub async fn start_scheduler(
    schedule: &str,
    ticks: mpsc::Sender<Tick>,
) -> Result<Running, DaemonError> {
    let scheduler = JobScheduler::new().await.map_err(DaemonError::Scheduler)?;
    let stopped = Arc::new(AtomicBool::new(false));
    let silenced = stopped.clone();
    let job = Job::new_async(schedule, move |_id, _lock| {
        let (ticks, silenced) = (ticks.clone(), silenced.clone());
        Box::pin(async move {
            // The scheduler's shutdown does not stop a run already due: a schedule stopped
            // just before a tick (a reload) still fired it beside its successor's, and one
            // tick made two passes. A stopped schedule sends nothing.
            if silenced.load(Ordering::SeqCst) {
                return;
            }
            // A full channel means a tick is already waiting or a pass is running: drop it.
            let _ = ticks.try_send(Tick::Schedule);
        })
    })
    .map_err(|source| DaemonError::Schedule {
        schedule: schedule.to_string(),
        source,
    })?;
    scheduler.add(job).await.map_err(DaemonError::Scheduler)?;
    scheduler.start().await.map_err(DaemonError::Scheduler)?;
    Ok(Running { scheduler, stopped })
}

/// Stop the schedule: it sends no tick from now on.
pub async fn shutdown_scheduler(mut running: Running) -> Result<(), DaemonError> {
    running.stopped.store(true, Ordering::SeqCst);
    running
        .scheduler
        .shutdown()
        .await
        .map_err(DaemonError::Scheduler)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            got += 1;
        }
        shutdown_scheduler(scheduler).await.unwrap();
        assert!(got >= 2, "got {got} ticks");
    }

    #[tokio::test]
    async fn a_schedule_stopped_just_before_its_tick_sends_nothing() {
        // What a reload does: stop the old schedule, start the new one. Stopped 150 ms before a
        // tick, the old one still fired it, so one tick made two passes after
        // `systemctl reload`. Over the next 1.9 s one schedule ticks at most twice.
        let (tx, mut rx) = mpsc::channel(8);
        let old = start_scheduler("* * * * * *", tx.clone()).await.unwrap();
        let ms = u64::from(Utc::now().timestamp_subsec_millis());
        let wait = if ms < 850 { 850 - ms } else { 1850 - ms };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        while rx.try_recv().is_ok() {}
        shutdown_scheduler(old).await.unwrap();
        let new = start_scheduler("* * * * * *", tx).await.unwrap();
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1900);
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            got += 1;
        }
        shutdown_scheduler(new).await.unwrap();
        assert!(
            (1..=2).contains(&got),
            "{got} ticks: a stopped schedule still ticked"
        );
    }
}
