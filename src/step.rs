//! PURE: each target's next step, from plain data — what was observed and decided
//! ([`Planned`]), its state record (a swap in flight, backoff), its rollout gate and the
//! [`Mode`]. Gates, backoff and outcome rules live here, and nothing here does I/O or reads a
//! clock, so every rule is tested exhaustively below, like [`crate::select`].

use chrono::{DateTime, Utc};

use crate::config::model::Rollout;
use crate::error::TargetError;
use crate::format::rfc3339;
use crate::model::Certificate;
use crate::outcome::Outcome;
use crate::planned::Planned;
use crate::rollout::{Gate, Gating, Wanting};
use crate::serial::Serial;
use crate::state::records::{DomainRecord, PendingSwap, SeenCertificate, State};

pub mod external;

/// How a pass may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `once --dry-run`: decide and report; no write call, no state written.
    DryRun,
    /// `once`: act; every target is tried every time.
    Once,
    /// `run`: act; a target that keeps failing is tried less often (1, 2, 4… passes).
    Daemon,
    /// `run`, a pass an ACM event asked for: as `Daemon`, but every target is tried, backing
    /// off or not, since the event may bring the certificate a failing target waits for.
    Event,
}

impl Mode {
    /// Whether this mode makes write calls and records state.
    pub fn writes(self) -> bool {
        self != Mode::DryRun
    }

    /// Whether targets backing off are skipped.
    pub fn backs_off(self) -> bool {
        self == Mode::Daemon
    }

    /// Whether failures are counted for the daemon's backoff.
    pub fn counts_failures(self) -> bool {
        matches!(self, Mode::Daemon | Mode::Event)
    }

    /// Whether a swap is verified in the background (the daemon) rather than waited for.
    pub fn verifies_in_background(self) -> bool {
        matches!(self, Mode::Daemon | Mode::Event)
    }
}

/// A swap to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapOrder {
    /// The certificate to move to.
    pub to: String,
    /// Its serial, what the edge must serve afterwards.
    pub serial: Serial,
    /// Whether it goes first as a canary of its rollout.
    pub canary: bool,
}

/// What happens to a target in this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Keep {
        /// Why, in one sentence.
        why: String,
    },
    /// Swap the domain onto a new certificate.
    Swap(SwapOrder),
    /// `--dry-run`: this swap would be made.
    WouldSwap {
        /// The sentence `plan`, the log and the summary show.
        why: String,
    },
    /// Wanted, but waits for its rollout's canaries.
    Hold {
        /// The sentence `plan`, the log and the summary show.
        why: String,
    },
    /// Wanted, but a canary of its rollout failed: an operator must act.
    Blocked {
        /// The sentence `plan`, the log and the summary show.
        why: String,
    },
    /// The domain's certificate was renewed in place (same ARN, new validity): verify the
    /// edge picks up the new material. No write is made.
    VerifyRenewal {
        /// The version last seen.
        was: SeenCertificate,
        /// The version ACM lists now.
        now: SeenCertificate,
    },
    /// `--dry-run`: a renewal in place would be verified.
    WouldVerifyRenewal {
        /// The sentence `plan`, the log and the summary show.
        why: String,
    },
    /// A swap is in flight: its verification decides, not this pass.
    Verify {
        /// The certificate it moved to.
        to: String,
        /// The end of its window.
        deadline: DateTime<Utc>,
    },
    /// The target needs attention.
    Fail {
        /// What went wrong.
        error: TargetError,
    },
}

impl Step {
    /// What follows from this step: an outcome to report as it is, or something to act on.
    pub fn next(self) -> Next {
        Next::Report(match self {
            Step::Swap(order) => return Next::Act(Act::Swap(order)),
            Step::VerifyRenewal { was, now } => return Next::Act(Act::Renewal { was, now }),
            Step::WouldVerifyRenewal { why } => Outcome::Kept(why),
            Step::Keep { why } => Outcome::Kept(why),
            Step::WouldSwap { why } => Outcome::WouldSwap(why),
            Step::Hold { why } => Outcome::Held(why),
            Step::Blocked { why } => Outcome::Blocked(why),
            Step::Verify { to, deadline } => Outcome::Verifying { to, deadline },
            Step::Fail { error } => Outcome::Failed(error),
        })
    }
}

/// What follows from a [`Step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing to act on: this is the target's outcome.
    Report(Outcome),
    /// Act first; the outcome comes from the act.
    Act(Act),
}

/// What a step asks [`crate::act`] to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Swap the domain onto a new certificate.
    Swap(SwapOrder),
    /// Start verifying an in-place renewal.
    Renewal {
        /// The version last seen.
        was: SeenCertificate,
        /// The version ACM lists now.
        now: SeenCertificate,
    },
}

/// How the domain's certificate changed since it was last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// As last seen, or nothing to compare (no current certificate in ACM).
    Unchanged,
    /// Not seen before, or another ARN (a swap, by us or anyone): remember it.
    New(SeenCertificate),
    /// The same ARN with other validity dates: renewed in place (ACM managed renewal, or a
    /// re-import into the ARN).
    Renewed {
        /// The version last seen.
        was: SeenCertificate,
        /// The version now.
        now: SeenCertificate,
    },
}

/// Compare the domain's current certificate (as ACM lists it) with the version last seen.
/// Only the list's dates are compared, so a steady pass needs no `DescribeCertificate`.
pub fn version_change(current: Option<&Certificate>, seen: Option<&SeenCertificate>) -> Version {
    let Some(current) = current else {
        return Version::Unchanged;
    };
    let now = SeenCertificate::of(current);
    match seen {
        Some(was) if *was == now => Version::Unchanged,
        Some(was) if was.arn == now.arn && now.not_after.is_some() => Version::Renewed {
            was: was.clone(),
            now,
        },
        _ => Version::New(now),
    }
}

/// Before observing: a target backing off in the daemon is skipped, with no AWS call, and
/// this is its outcome.
pub fn backoff(record: Option<&DomainRecord>, mode: Mode) -> Option<Outcome> {
    let r = record.filter(|r| mode.backs_off() && r.skip_passes > 0)?;
    let last = r.last_error.as_deref().unwrap_or("(no detail)");
    Some(Outcome::BackingOff(format!(
        "skipped after {} failed pass(es) in a row; next try in {} pass(es). Last error: {last}",
        r.failures, r.skip_passes
    )))
}

/// The next step of an observed target. `pending` is the swap in flight from the state read
/// after observing; `seen` the version of its certificate last seen; `gate` its rollout
/// gate (`None`: no rollout decided for it). A swap wins over verifying an in-place renewal
/// of the certificate it replaces.
pub fn next_step(
    planned: &Planned,
    pending: Option<&PendingSwap>,
    seen: Option<&SeenCertificate>,
    gate: Option<&Gate>,
    mode: Mode,
) -> Step {
    if let Some(error) = &planned.error {
        return Step::Fail {
            error: error.clone(),
        };
    }
    let decision = &planned.decision;
    if decision.action == crate::select::Action::Error {
        return Step::Fail {
            // No refusal and no observation error: a target skipped in this pass.
            error: TargetError::Selection(
                decision
                    .refused
                    .clone()
                    .unwrap_or(crate::select::Refusal::NotObserved),
            ),
        };
    }
    if let Some(p) = pending {
        return Step::Verify {
            to: p.new_arn.clone(),
            deadline: p.deadline,
        };
    }
    let Some(to) = planned.rotate_to() else {
        return keep(decision, seen, mode);
    };
    let serial = planned.candidate_serial.clone();
    if serial.is_none() && mode.writes() {
        return Step::Fail {
            error: TargetError::Candidate(crate::error::CandidateError::Unrecognisable {
                certificate: crate::model::arn_tail(to).to_string(),
            }),
        };
    }
    swap_behind(gate, to, serial.filter(|_| mode.writes()), &decision.reason)
}

/// A swap to `to` behind its canary `gate`: held, blocked, or made (with the candidate's
/// `serial`; without one, a dry run says it would).
fn swap_behind(gate: Option<&Gate>, to: &str, serial: Option<Serial>, reason: &str) -> Step {
    match gate {
        Some(Gate::Hold(why)) => Step::Hold { why: why.clone() },
        Some(Gate::Blocked(why)) => Step::Blocked { why: why.clone() },
        Some(Gate::Go) | Some(Gate::Canary) | None => {
            let canary = gate == Some(&Gate::Canary);
            match serial {
                Some(serial) => Step::Swap(SwapOrder {
                    to: to.to_string(),
                    serial,
                    canary,
                }),
                None => {
                    let suffix = if canary { " (canary)" } else { "" };
                    Step::WouldSwap {
                        why: format!("{reason}{suffix}"),
                    }
                }
            }
        }
    }
}

/// No swap wanted: keep, unless the certificate was renewed in place since it was last seen
/// (then verify the renewal, or say a dry run would).
fn keep(decision: &crate::select::Decision, seen: Option<&SeenCertificate>, mode: Mode) -> Step {
    if let Version::Renewed { was, now } = version_change(decision.current.as_ref(), seen) {
        return if mode.writes() {
            Step::VerifyRenewal { was, now }
        } else {
            Step::WouldVerifyRenewal {
                why: format!("{}; {}", decision.reason, renewal_line(&was, &now)),
            }
        };
    }
    Step::Keep {
        why: decision.reason.clone(),
    }
}

/// The canary gates for the targets of `planned` that want to rotate and have nothing in
/// flight. Targets moving to the same certificate are grouped by its serial (the same
/// certificate imported into several accounts shares it).
pub fn gates(rollout: &Rollout, planned: &[Planned], state: &State, now: DateTime<Utc>) -> Gating {
    let wanting: Vec<Wanting> = planned
        .iter()
        .filter(|p| p.error.is_none())
        .filter(|p| {
            state
                .domains
                .get(&p.target.domain)
                .is_none_or(|r| r.pending.is_none())
        })
        .filter_map(|p| {
            let arn = p.rotate_to()?.to_string();
            let key = match &p.candidate_serial {
                Some(serial) => format!("serial {serial}"),
                None => format!("arn {arn}"),
            };
            Some(Wanting {
                domain: p.target.domain.clone(),
                arn,
                key,
            })
        })
        .collect();
    crate::rollout::gate(rollout, &wanting, state, now)
}

/// The most passes a failing target waits between tries.
pub const MAX_BACKOFF_PASSES: u32 = 32;

/// Passes to wait after `failures` consecutive failures: 1 (the next pass), 2, 4, … up to
/// [`MAX_BACKOFF_PASSES`]; the number returned is the passes to skip in between.
pub fn skip_after(failures: u32) -> u32 {
    let wait = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(MAX_BACKOFF_PASSES);
    wait - 1
}

/// The daemon's backoff bookkeeping after a pass: a failure counts and sets the passes to
/// skip; a skipped pass counts down; anything else clears the count.
pub fn count_pass(record: &mut DomainRecord, outcome: &Outcome) {
    match outcome {
        Outcome::BackingOff(_) => record.skip_passes = record.skip_passes.saturating_sub(1),
        Outcome::Failed(error) => {
            record.failures = record.failures.saturating_add(1);
            record.skip_passes = skip_after(record.failures);
            record.last_error = Some(error.to_string());
        }
        _ => {
            record.failures = 0;
            record.skip_passes = 0;
            record.last_error = None;
        }
    }
}

/// One sentence on an in-place renewal.
pub fn renewal_line(was: &SeenCertificate, now: &SeenCertificate) -> String {
    let date = |t: &Option<DateTime<Utc>>| t.as_ref().map_or("unknown".to_string(), rfc3339);
    format!(
        "certificate {} was renewed in place (expiry {} -> {}); the edge must pick it up",
        crate::model::arn_tail(&now.arn),
        date(&was.not_after),
        date(&now.not_after)
    )
}

/// The summary of a swap in flight, for reports.
pub fn verifying_line(to: &str, deadline: &DateTime<Utc>) -> String {
    format!(
        "a swap to {} is being verified until {}",
        crate::model::arn_tail(to),
        rfc3339(deadline)
    )
}

#[cfg(test)]
mod tests;
