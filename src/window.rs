//! PURE: change windows and freezes — whether a swap may be made now, and when it next may.
//!
//! A window opens at each time its cron expression (with seconds) fires in its time zone and
//! stays open for its duration (absolute time: a window across a daylight-saving change is as
//! long as on any other day). A freeze is a span of UTC time with a reason. Outside every window
//! (when there are windows) or inside a freeze, a swap is deferred, not failed — unless the
//! current certificate is unusable or has less than `urgent_within` left, when it is swapped
//! anyway and the log says it broke the window and why. Reads, verifications and renewal
//! checks are never gated.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::format::{fmt_duration, rfc3339};
use crate::model::Certificate;

/// When a window opens and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Cron expression with seconds: when the window opens.
    pub start: String,
    /// How long it stays open.
    pub duration: Duration,
    /// The time zone the expression is read in.
    pub timezone: Tz,
}

/// No swaps at all between `from` and `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    /// The first instant frozen.
    pub from: DateTime<Utc>,
    /// The first instant no longer frozen.
    pub to: DateTime<Utc>,
    /// Why, for people.
    pub reason: String,
}

/// When swaps may be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePolicy {
    /// Swaps only inside one of these; empty: any time.
    pub windows: Vec<Window>,
    /// No swaps inside these.
    pub freezes: Vec<Freeze>,
    /// A current certificate with less left than this is swapped regardless.
    pub urgent_within: Duration,
}

/// `urgent_within` when not set.
pub const DEFAULT_URGENT_WITHIN: Duration = Duration::from_secs(7 * 86_400);

impl Default for ChangePolicy {
    fn default() -> ChangePolicy {
        ChangePolicy {
            windows: Vec::new(),
            freezes: Vec::new(),
            urgent_within: DEFAULT_URGENT_WITHIN,
        }
    }
}

/// Whether a swap may be made now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permit {
    /// Yes: inside a window (or there are none), and no freeze.
    Open,
    /// Not now.
    Deferred(Deferral),
    /// Outside a window or inside a freeze, but the current certificate cannot wait: the
    /// sentence says which rule it breaks and why.
    Urgent(String),
}

/// A swap that waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferral {
    /// The freeze it is in, if it is in one (else: outside every window).
    pub freeze: Option<Freeze>,
    /// When a swap may next be made (`None`: never, as configured).
    pub next: Option<DateTime<Utc>>,
}

impl Deferral {
    /// `deferred: outside the change window; the next one opens at T`, or the freeze.
    pub fn sentence(&self) -> String {
        let next = self
            .next
            .map_or_else(|| "never, as configured".to_string(), |t| rfc3339(&t));
        match &self.freeze {
            Some(f) => format!(
                "deferred: inside the change freeze until {} ({}); the next swap may be made at {next}",
                rfc3339(&f.to),
                f.reason
            ),
            None => format!("deferred: outside the change window; the next one opens at {next}"),
        }
    }

    /// The `reason` label of `cognito_cert_rotator_deferred`.
    pub fn label(&self) -> &'static str {
        if self.freeze.is_some() {
            "freeze"
        } else {
            "window"
        }
    }
}

/// A cron expression with seconds (the schedule's and the windows' dialect: day of month and
/// day of week both apply).
pub fn cron(expr: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
}

/// The labels `cognito_cert_rotator_deferred{reason}` takes.
pub const DEFERRAL_REASONS: &[&str] = &["window", "freeze"];

impl Window {
    fn cron(&self) -> Option<croner::Cron> {
        cron(&self.start).ok()
    }

    /// Whether the window is open at `at`: it opened at most `duration` before.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let Some(cron) = self.cron() else {
            return false;
        };
        let local = at.with_timezone(&self.timezone);
        match cron.find_previous_occurrence(&local, true) {
            Ok(opened) => {
                let opened = opened.with_timezone(&Utc);
                let closes = chrono::Duration::from_std(self.duration)
                    .ok()
                    .and_then(|d| opened.checked_add_signed(d));
                closes.is_none_or(|closes| at < closes)
            }
            Err(_) => false,
        }
    }

    /// When the window next opens after `after`.
    pub fn next_opening(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = self.timezone.from_utc_datetime(&after.naive_utc());
        self.cron()?
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

impl ChangePolicy {
    /// Whether any rule restricts swaps.
    pub fn restricts(&self) -> bool {
        !self.windows.is_empty() || !self.freezes.is_empty()
    }

    /// The freeze in force at `at`.
    pub fn frozen(&self, at: DateTime<Utc>) -> Option<&Freeze> {
        self.freezes.iter().find(|f| f.from <= at && at < f.to)
    }

    /// Whether a window is open at `at` (always, without windows).
    pub fn in_window(&self, at: DateTime<Utc>) -> bool {
        self.windows.is_empty() || self.windows.iter().any(|w| w.contains(at))
    }

    /// The first instant at or after `now` at which a swap may be made.
    pub fn next_allowed(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut at = now;
        // Each step jumps past a freeze or to a window's opening; a few suffice unless the
        // rules leave no gap at all.
        for _ in 0..64 {
            if let Some(f) = self.frozen(at) {
                at = f.to;
                continue;
            }
            if self.in_window(at) {
                return Some(at);
            }
            at = self
                .windows
                .iter()
                .filter_map(|w| w.next_opening(at))
                .min()?;
        }
        None
    }

    /// Whether a swap away from `current` may be made at `now`.
    pub fn permit(&self, current: Option<&Certificate>, now: DateTime<Utc>) -> Permit {
        let freeze = self.frozen(now).cloned();
        if freeze.is_none() && self.in_window(now) {
            return Permit::Open;
        }
        let rule = match &freeze {
            Some(f) => format!("the change freeze ({})", f.reason),
            None => "the change window".to_string(),
        };
        if let Some(why) = self.urgency(current, now) {
            return Permit::Urgent(format!("swapping despite {rule}: {why}"));
        }
        Permit::Deferred(Deferral {
            freeze,
            next: self.next_allowed(now),
        })
    }

    /// What `plan` and `status` say of a swap wanted at `now`: the deferral, or the rule an
    /// urgent swap breaks; `None` when the swap may be made.
    pub fn note(&self, current: Option<&Certificate>, now: DateTime<Utc>) -> Option<String> {
        match self.permit(current, now) {
            Permit::Open => None,
            Permit::Deferred(d) => Some(d.sentence()),
            Permit::Urgent(why) => Some(why),
        }
    }

    /// Why the current certificate cannot wait, if it cannot.
    fn urgency(&self, current: Option<&Certificate>, now: DateTime<Utc>) -> Option<String> {
        let Some(cert) = current else {
            return Some("the current certificate is no longer in ACM".to_string());
        };
        if !cert.is_issued() {
            return Some(format!("the current certificate is {}", cert.status));
        }
        let not_after = cert.not_after?;
        let left = (not_after - now).to_std().unwrap_or_default();
        if left.is_zero() {
            return Some(format!(
                "the current certificate expired at {}",
                rfc3339(&not_after)
            ));
        }
        (left < self.urgent_within).then(|| {
            format!(
                "the current certificate expires in {}, less than urgent_within {}",
                fmt_duration(left),
                fmt_duration(self.urgent_within)
            )
        })
    }
}

#[cfg(test)]
mod tests;
