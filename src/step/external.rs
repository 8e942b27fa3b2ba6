//! PURE: a domain moved off the rotator's certificate by someone else (Terraform's next apply,
//! a CloudFormation update, a person). Swapping it back would flap on every apply, so such a
//! domain is held until an operator runs `forget` — unless the certificate it was moved to is
//! no longer usable, in which case it is swapped and the log says why. A domain moved by hand
//! onto a certificate at least as good as the rotator's is simply kept.

use chrono::{DateTime, Utc};

use crate::model::arn_tail;
use crate::planned::Planned;
use crate::select::Action;
use crate::state::records::{DomainRecord, ExternalChange, SwapResult};

/// What an external change means for this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// No external change to act on: decide as usual.
    No,
    /// Hold the domain: no swap until `forget`. `new` when first found in this pass (log it,
    /// count it and fire `on_failure` once).
    Hold {
        /// The record to keep.
        change: ExternalChange,
        /// Found in this pass.
        new: bool,
        /// The sentence for the report, the log and the hook.
        why: String,
    },
    /// Moved onto a certificate that is no longer usable: swap anyway, saying so.
    SwapAnyway {
        /// The sentence for the log.
        why: String,
    },
}

impl Moved {
    /// What the external change means for the domain, in a sentence; `None` without one.
    pub fn why(&self) -> Option<&str> {
        match self {
            Moved::No => None,
            Moved::Hold { why, .. } | Moved::SwapAnyway { why } => Some(why),
        }
    }
}

/// Whether `planned`'s domain was moved off the rotator's certificate by someone else.
pub fn external_change(
    planned: &Planned,
    record: Option<&DomainRecord>,
    now: DateTime<Utc>,
) -> Moved {
    let decision = &planned.decision;
    let (Some(record), Some(found)) = (record, decision.current_arn.as_deref()) else {
        return Moved::No;
    };
    if record.pending.is_some() || decision.action != Action::Swap {
        return Moved::No;
    }
    let change = match &record.external {
        // Still where it was found: the hold goes on.
        Some(held) if held.found == found => Some((held.clone(), false)),
        _ => first_found(record, planned, found, now).map(|c| (c, true)),
    };
    let Some((change, new)) = change else {
        return Moved::No;
    };
    if let Some(unusable) = &decision.current_unusable {
        return Moved::SwapAnyway {
            why: format!(
                "the domain was moved outside the rotator from {} onto {}, which is no longer usable ({unusable}): swapping it anyway",
                arn_tail(&change.ours),
                arn_tail(found)
            ),
        };
    }
    let why = format!(
        "external change: the domain was moved outside the rotator from {} (the rotator's, verified) onto {}; not swapping it back (Terraform or CloudFormation would put it back again): hold it there or hand it over, then run `cognito-cert-rotator forget {}`",
        arn_tail(&change.ours),
        arn_tail(found),
        planned.target.domain
    );
    Moved::Hold { change, new, why }
}

/// A change found for the first time: the rotator's last verified swap put the domain on
/// another certificate, and the one found is worse than that one (the rotator would move it).
fn first_found(
    record: &DomainRecord,
    planned: &Planned,
    found: &str,
    now: DateTime<Utc>,
) -> Option<ExternalChange> {
    let last = record.last.as_ref()?;
    if last.result != SwapResult::Verified || last.renewal || last.new_arn == found {
        return None;
    }
    let ours = &last.new_arn;
    let found_expires = planned.decision.current.as_ref().and_then(|c| c.not_after);
    // The rotator's certificate as it was last seen on the domain, when that is known; else the
    // decision wanting to move the domain back onto it says the found one is worse.
    let worse = match record.seen.as_ref().filter(|s| &s.arn == ours) {
        Some(seen) => found_expires.is_none_or(|f| seen.not_after.is_some_and(|o| f < o)),
        None => planned
            .decision
            .candidate
            .as_ref()
            .is_some_and(|c| &c.arn == ours),
    };
    worse.then(|| ExternalChange {
        ours: ours.clone(),
        found: found.to_string(),
        since: now,
    })
}

#[cfg(test)]
mod tests;
