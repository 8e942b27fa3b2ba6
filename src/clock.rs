//! The one place the library reads the wall clock. Everything else takes `now` from a
//! [`Clock`] (or as an argument), so tests decide what time it is.
//!
//! Waiting is always on tokio's clock (`tokio::time::sleep`); [`TokioClock`] makes the wall
//! clock follow it, so under `tokio::time::pause` a one-hour verification window passes in
//! milliseconds and the deadlines written to the state agree with the waits that ran.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Tells the time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// A clock shared by everything one [`crate::context::Context`] runs.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock: what the binary uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall-clock time that starts at a given instant and advances exactly as tokio's clock does:
/// paused, auto-advanced or real. For tests, and anywhere waits and timestamps must agree.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: DateTime<Utc>,
    started: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start` now (call inside a tokio runtime).
    pub fn starting_at(start: DateTime<Utc>) -> TokioClock {
        TokioClock {
            start,
            started: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_moves_with_paused_time() {
        let start = DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = TokioClock::starting_at(start);
        assert_eq!(clock.now(), start);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now(), start + chrono::Duration::hours(1));
    }
}

/// `at + window`, never a panic: a window past the calendar's end (the configuration bounds
/// every window to a week, so only a bug gets here) ends at the calendar's end.
pub fn after(at: DateTime<Utc>, window: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| at.checked_add_signed(w))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod after_tests {
    use super::*;

    #[test]
    fn a_deadline_at_each_bound_does_not_panic() {
        let now = Utc::now();
        let week = std::time::Duration::from_secs(crate::config::values::WEEK);
        assert_eq!(after(now, week), now + chrono::Duration::days(7));
        assert!(after(now, crate::config::values::LONGEST) > now);
        assert_eq!(
            after(now, std::time::Duration::from_secs(u64::MAX)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            after(DateTime::<Utc>::MAX_UTC, week),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
