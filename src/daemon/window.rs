//! A pass at the opening of a change window (or the end of a freeze) that a deferred swap
//! waits for, not only at the schedule's next tick.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::info;

use super::event_loop::Tick;
use crate::format::rfc3339;

/// After the opening, so the pass finds the window open.
const MARGIN: Duration = Duration::from_millis(500);

/// The one pending wake-up.
#[derive(Debug)]
pub(super) struct Opening {
    ticks: mpsc::Sender<Tick>,
    pending: Mutex<Option<(DateTime<Utc>, AbortHandle)>>,
}

impl Opening {
    pub(super) fn new(ticks: mpsc::Sender<Tick>) -> Opening {
        Opening {
            ticks,
            pending: Mutex::new(None),
        }
    }

    /// Wake a pass at `at` (the earliest a deferred swap may be made), replacing any earlier
    /// wake-up; `None` cancels it. `now` is the wall clock the pass used.
    pub(super) fn wake_at(&self, at: Option<DateTime<Utc>>, now: DateTime<Utc>, targets: usize) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if let (Some((t, task)), Some(wanted)) = (pending.as_ref(), at) {
            if *t == wanted && !task.is_finished() {
                return;
            }
        }
        if let Some((_, old)) = pending.take() {
            old.abort();
        }
        let Some(at) = at else { return };
        let delay = (at - now).to_std().unwrap_or_default() + MARGIN;
        info!(
            targets,
            "a pass runs at {} when the change window opens for a deferred swap",
            rfc3339(&at)
        );
        let ticks = self.ticks.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = ticks.send(Tick::Due).await;
        });
        *pending = Some((at, task.abort_handle()));
    }

    /// Shutdown: no more wake-ups.
    pub(super) fn cancel(&self) {
        if let Ok(mut pending) = self.pending.lock() {
            if let Some((_, old)) = pending.take() {
                old.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pass_is_woken_at_the_opening_and_only_the_latest_wake_up_counts() {
        let (tx, mut rx) = mpsc::channel(4);
        let opening = Opening::new(tx);
        let now = DateTime::parse_from_rfc3339("2026-12-01T21:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        opening.wake_at(Some(now + chrono::Duration::hours(2)), now, 1);
        // A later pass finds an earlier opening: it replaces the first.
        opening.wake_at(Some(now + chrono::Duration::hours(1)), now, 1);
        tokio::time::sleep(Duration::from_secs(3599)).await;
        assert!(rx.try_recv().is_err(), "woken before the opening");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(matches!(rx.try_recv(), Ok(Tick::Due)));
        // The replaced wake-up never fires.
        tokio::time::sleep(Duration::from_secs(7200)).await;
        assert!(rx.try_recv().is_err());
        // Cancelled: nothing.
        opening.wake_at(Some(now + chrono::Duration::hours(1)), now, 1);
        opening.cancel();
        tokio::time::sleep(Duration::from_secs(7200)).await;
        assert!(rx.try_recv().is_err());
    }
}
