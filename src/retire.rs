//! PURE: retiring a certificate the rotator moved a consumer off (`retire:`): what to do with
//! it this pass, from what ACM says about it. [`review`] reads ACM and acts.
//!
//! A candidate is only ever the certificate a verified swap replaced (the domain's last
//! finished swap): never one something uses (ACM's `InUseBy`), never one a consumer was
//! rolled back to (that swap is not verified), never one the rotator did not move a consumer
//! off, never the newest for its name. ACM itself keeps the memory of how long it has been
//! unused: the first pass that sees `InUseBy` empty tags it
//! `cognito-cert-rotator:unused-since=<time>`; a pass that sees it used again takes the tag
//! off; once the tag is `after` old, the certificate is tagged
//! `cognito-cert-rotator:retired=<date>`, or deleted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::format::rfc3339;

pub mod review;

/// The tag that records since when a candidate has been seen unused.
pub const UNUSED_SINCE_TAG: &str = "cognito-cert-rotator:unused-since";
/// The tag a retired certificate carries (`action: tag`).
pub const RETIRED_TAG: &str = "cognito-cert-rotator:retired";

pub use crate::config::model::{RetireAction as Action, RetireSettings as Settings};

/// What ACM says about a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// What uses it (`InUseBy`).
    pub in_use_by: &'a [String],
    /// Its tags.
    pub tags: &'a BTreeMap<String, String>,
    /// Whether no certificate covering the domain expires later (the one the swap moved to
    /// included).
    pub newest_for_its_name: bool,
}

/// What to do with a candidate this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Leave it: why, in one sentence.
    Keep(String),
    /// Unused now, never seen so: tag it unused since `now`.
    MarkUnused,
    /// Used again: take the unused-since tag off.
    ClearMark,
    /// Unused since `since`; retired at `at` if it stays so.
    Wait {
        /// Since when it has been unused.
        since: DateTime<Utc>,
        /// When it is retired.
        at: DateTime<Utc>,
    },
    /// Retire it now.
    Retire(Action),
}

impl Step {
    /// One sentence for `plan` and the log.
    pub fn sentence(&self, settings: &Settings) -> String {
        match self {
            Step::Keep(why) => format!("kept: {why}"),
            Step::MarkUnused => format!(
                "unused now; retired ({}) once unused for {}",
                settings.action.name(),
                crate::format::fmt_duration(settings.after)
            ),
            Step::ClearMark => "in use again; no longer counted as unused".to_string(),
            Step::Wait { since, at } => format!(
                "unused since {}; retired ({}) at {} if it stays unused",
                rfc3339(since),
                settings.action.name(),
                rfc3339(at)
            ),
            Step::Retire(action) => format!("retire now ({})", action.name()),
        }
    }
}

/// What to do with `candidate` at `now`. Pure.
pub fn decide(candidate: &Candidate<'_>, settings: &Settings, now: DateTime<Utc>) -> Step {
    if candidate.tags.contains_key(RETIRED_TAG) {
        return Step::Keep("already retired".to_string());
    }
    if candidate.newest_for_its_name {
        return Step::Keep("it is the newest certificate for its name".to_string());
    }
    let marked = candidate.tags.get(UNUSED_SINCE_TAG);
    if !candidate.in_use_by.is_empty() {
        return match marked {
            Some(_) => Step::ClearMark,
            None => Step::Keep(format!("in use by {}", candidate.in_use_by.join(", "))),
        };
    }
    let since = marked.and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let Some(since) = since.map(|t| t.with_timezone(&Utc)) else {
        return Step::MarkUnused;
    };
    let at = chrono::Duration::from_std(settings.after)
        .ok()
        .and_then(|d| since.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if at <= now {
        Step::Retire(settings.action)
    } else {
        Step::Wait { since, at }
    }
}

#[cfg(test)]
mod tests;
