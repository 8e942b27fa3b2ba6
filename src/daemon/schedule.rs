//! The schedule: tokio-cron-scheduler turns the cron expression into ticks, and the cron
//! arithmetic `status` and the health check use.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::error::DaemonError;
use super::event_loop::Tick;
use crate::config::parse_cron;

fn scheduler_error(e: tokio_cron_scheduler::JobSchedulerError) -> DaemonError {
    DaemonError::Schedule(format!("the scheduler: {e}"))
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

/// Start tokio-cron-scheduler, sending a tick on `ticks` each time `schedule` fires.
pub async fn start_scheduler(
    schedule: &str,
    ticks: mpsc::Sender<Tick>,
) -> Result<JobScheduler, DaemonError> {
    let scheduler = JobScheduler::new().await.map_err(scheduler_error)?;
    let job = Job::new_async(schedule, move |_id, _lock| {
        let ticks = ticks.clone();
        Box::pin(async move {
            // A full channel means a tick is already waiting or a pass is running: drop it.
            let _ = ticks.try_send(Tick::Schedule);
        })
    })
    .map_err(|e| DaemonError::Schedule(format!("schedule \"{schedule}\": {e}")))?;
    scheduler.add(job).await.map_err(scheduler_error)?;
    scheduler.start().await.map_err(scheduler_error)?;
    Ok(scheduler)
}

/// Stop the scheduler.
pub async fn shutdown_scheduler(mut scheduler: JobScheduler) -> Result<(), DaemonError> {
    scheduler.shutdown().await.map_err(scheduler_error)
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
}
