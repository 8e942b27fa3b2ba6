//! What people and programs read: the `plan` report (text or JSON) and pass summaries.
//!
//! The JSON shape of `plan --output json` is an interface: fields are only ever added.

use std::fmt::Write as _;

use serde::Serialize;

use crate::human::rfc3339;
use crate::observe::Planned;
use crate::outcome::{Outcome, Verification};
use crate::select::Action;

/// `plan --output json`.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    /// One entry per target, in config order.
    pub targets: Vec<TargetReport>,
}

/// One target in the plan.
#[derive(Debug, Serialize)]
pub struct TargetReport {
    /// The custom domain.
    pub domain: String,
    /// The configured user pool.
    pub user_pool_id: String,
    /// The ARN the domain uses now.
    pub current_certificate_arn: Option<String>,
    /// Its NotAfter.
    pub current_not_after: Option<String>,
    /// The best eligible certificate.
    pub candidate_certificate_arn: Option<String>,
    /// Its NotAfter.
    pub candidate_not_after: Option<String>,
    /// rotate, keep or error.
    pub action: Action,
    /// One sentence.
    pub reason: String,
    /// Every other matching certificate, with why it lost.
    pub rejected: Vec<RejectedReport>,
    /// ACM's managed renewal of the current certificate, when ACM renews it and it is
    /// inside its renewal window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_renewal: Option<RenewalReport>,
}

/// `RenewalSummary` of the current certificate.
#[derive(Debug, Serialize)]
pub struct RenewalReport {
    /// `RenewalStatus`.
    pub status: String,
    /// `RenewalStatusReason`.
    pub reason: Option<String>,
    /// True when the renewal will not happen on its own (PENDING_VALIDATION, FAILED).
    pub action_required: bool,
    /// One sentence.
    pub detail: String,
}

/// A certificate that was not chosen.
#[derive(Debug, Serialize)]
pub struct RejectedReport {
    /// Its ARN.
    pub certificate_arn: String,
    /// One sentence.
    pub reason: String,
}

impl PlanReport {
    /// Build from a plan.
    pub fn new(planned: &[Planned]) -> PlanReport {
        PlanReport {
            targets: planned
                .iter()
                .map(|p| {
                    let d = &p.decision;
                    TargetReport {
                        domain: p.target.domain.clone(),
                        user_pool_id: p.target.user_pool_id.clone(),
                        current_certificate_arn: d.current_arn.clone(),
                        current_not_after: d
                            .current
                            .as_ref()
                            .and_then(|c| c.not_after)
                            .map(|t| rfc3339(&t)),
                        candidate_certificate_arn: d.candidate.as_ref().map(|c| c.arn.clone()),
                        candidate_not_after: d
                            .candidate
                            .as_ref()
                            .and_then(|c| c.not_after)
                            .map(|t| rfc3339(&t)),
                        action: d.action,
                        reason: d.reason.clone(),
                        rejected: d
                            .rejected
                            .iter()
                            .map(|r| RejectedReport {
                                certificate_arn: r.arn.clone(),
                                reason: r.reason.clone(),
                            })
                            .collect(),
                        managed_renewal: p.managed_renewal.as_ref().map(|r| RenewalReport {
                            status: r.status.clone(),
                            reason: r.reason.clone(),
                            action_required: r.needs_action(),
                            detail: r.describe(),
                        }),
                    }
                })
                .collect(),
        }
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        // Serialising plain strings and options cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for t in &self.targets {
            let _ = writeln!(out, "{} (user pool {})", t.domain, t.user_pool_id);
            let _ = writeln!(
                out,
                "  current:   {}",
                arn_and_date(&t.current_certificate_arn, &t.current_not_after)
            );
            let _ = writeln!(
                out,
                "  candidate: {}",
                arn_and_date(&t.candidate_certificate_arn, &t.candidate_not_after)
            );
            let _ = writeln!(
                out,
                "  action:    {} — {}",
                t.action.to_string().to_uppercase(),
                t.reason
            );
            if let Some(r) = &t.managed_renewal {
                let mark = if r.action_required {
                    "ACTION NEEDED: "
                } else {
                    ""
                };
                let _ = writeln!(out, "  renewal:   {mark}{}", r.detail);
            }
            if !t.rejected.is_empty() {
                let _ = writeln!(out, "  rejected:");
                for r in &t.rejected {
                    let _ = writeln!(out, "    - {}", r.certificate_arn);
                    let _ = writeln!(out, "      {}", r.reason);
                }
            }
            out.push('\n');
        }
        let count = |a: Action| self.targets.iter().filter(|t| t.action == a).count();
        let _ = writeln!(
            out,
            "{} target(s): {} to rotate, {} to keep, {} in error",
            self.targets.len(),
            count(Action::Rotate),
            count(Action::Keep),
            count(Action::Error)
        );
        out
    }
}

fn arn_and_date(arn: &Option<String>, date: &Option<String>) -> String {
    match (arn, date) {
        (Some(a), Some(d)) => format!("{a} (expires {d})"),
        (Some(a), None) => format!("{a} (expiry unknown)"),
        (None, _) => "none".to_string(),
    }
}

/// The one-line summary of a target after a `once` pass.
pub fn summary_line(p: &Planned, outcome: &Outcome) -> String {
    let detail = match outcome {
        Outcome::Kept(why)
        | Outcome::WouldRotate(why)
        | Outcome::Held(why)
        | Outcome::Blocked(why)
        | Outcome::BackingOff(why)
        | Outcome::Deferred(why) => why.clone(),
        Outcome::Failed(error) => error.to_string(),
        Outcome::Verifying { to, deadline } => crate::step::verifying_line(to, deadline),
        Outcome::Rotated {
            from,
            to,
            verification,
        } => {
            let v = verification.describe();
            format!(
                "{} -> {}; {v}",
                from.as_deref().map_or("none", crate::model::arn_tail),
                crate::model::arn_tail(to)
            )
        }
        Outcome::Renewed { arn, verification } => format!(
            "{} renewed in place (no swap); {}",
            crate::model::arn_tail(arn),
            verification.describe()
        ),
    };
    format!("{}: {}: {}", p.target.domain, outcome.label(), detail)
}

/// Log one summary line per target (error for failures, warn for an unverified swap, info
/// otherwise); returns how many targets failed.
pub fn log_summaries(results: &[(Planned, Outcome)]) -> usize {
    let mut failed = 0;
    for (p, outcome) in results {
        let line = summary_line(p, outcome);
        if outcome.is_failure() {
            failed += 1;
            tracing::error!("{line}");
        } else if matches!(
            outcome,
            Outcome::Rotated {
                verification: Verification::NotRequested,
                ..
            } | Outcome::Renewed {
                verification: Verification::NotRequested,
                ..
            }
        ) {
            tracing::warn!("{line}");
        } else {
            tracing::info!("{line}");
        }
    }
    failed
}
