//! What people and programs read: the `plan` report (text or JSON) and pass summaries.
//!
//! The JSON shape of `plan --output json` is an interface: fields are only ever added.

use serde::Serialize;

use crate::human::rfc3339;
use crate::observe::Planned;
use crate::outcome::{Outcome, Verification};
use crate::select::Action;

/// `plan --output json`. Borrows from the plan and is written out as it is serialised, so a
/// report of many targets is never held twice in memory.
#[derive(Debug, Serialize)]
pub struct PlanReport<'a> {
    /// One entry per target, in config order.
    pub targets: Vec<TargetReport<'a>>,
}

/// One target in the plan.
#[derive(Debug, Serialize)]
pub struct TargetReport<'a> {
    /// The custom domain.
    pub domain: &'a str,
    /// The configured user pool.
    pub user_pool_id: &'a str,
    /// The ARN the domain uses now.
    pub current_certificate_arn: Option<&'a str>,
    /// Its NotAfter.
    pub current_not_after: Option<String>,
    /// The best eligible certificate.
    pub candidate_certificate_arn: Option<&'a str>,
    /// Its NotAfter.
    pub candidate_not_after: Option<String>,
    /// rotate, keep or error.
    pub action: Action,
    /// One sentence.
    pub reason: &'a str,
    /// Every other matching certificate, with why it lost.
    pub rejected: Vec<RejectedReport<'a>>,
    /// ACM's managed renewal of the current certificate, when ACM renews it and it is
    /// inside its renewal window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_renewal: Option<RenewalReport<'a>>,
}

/// `RenewalSummary` of the current certificate.
#[derive(Debug, Serialize)]
pub struct RenewalReport<'a> {
    /// `RenewalStatus`.
    pub status: &'a str,
    /// `RenewalStatusReason`.
    pub reason: Option<&'a str>,
    /// True when the renewal will not happen on its own (PENDING_VALIDATION, FAILED).
    pub action_required: bool,
    /// One sentence.
    pub detail: String,
}

/// A certificate that was not chosen.
#[derive(Debug, Serialize)]
pub struct RejectedReport<'a> {
    /// Its ARN.
    pub certificate_arn: &'a str,
    /// One sentence.
    pub reason: &'a str,
}

impl<'a> PlanReport<'a> {
    /// Build from a plan.
    pub fn new(planned: &'a [Planned]) -> PlanReport<'a> {
        let not_after = |c: &Option<crate::model::Certificate>| {
            c.as_ref().and_then(|c| c.not_after).map(|t| rfc3339(&t))
        };
        PlanReport {
            targets: planned
                .iter()
                .map(|p| {
                    let d = &p.decision;
                    TargetReport {
                        domain: &p.target.domain,
                        user_pool_id: &p.target.user_pool_id,
                        current_certificate_arn: d.current_arn.as_deref(),
                        current_not_after: not_after(&d.current),
                        candidate_certificate_arn: d.candidate.as_ref().map(|c| c.arn.as_str()),
                        candidate_not_after: not_after(&d.candidate),
                        action: d.action,
                        reason: &d.reason,
                        rejected: d
                            .rejected
                            .iter()
                            .map(|r| RejectedReport {
                                certificate_arn: &r.arn,
                                reason: &r.reason,
                            })
                            .collect(),
                        managed_renewal: p.managed_renewal.as_ref().map(|r| RenewalReport {
                            status: &r.status,
                            reason: r.reason.as_deref(),
                            action_required: r.needs_action(),
                            detail: r.describe(),
                        }),
                    }
                })
                .collect(),
        }
    }

    /// Write the report as one JSON object (and a newline) to `out`, as it is serialised.
    pub fn write_json(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut out, self)?;
        writeln!(out)
    }

    /// Write the report for people to `out`, target by target.
    pub fn write_text(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        for t in &self.targets {
            writeln!(out, "{} (user pool {})", t.domain, t.user_pool_id)?;
            writeln!(
                out,
                "  current:   {}",
                arn_and_date(t.current_certificate_arn, &t.current_not_after)
            )?;
            writeln!(
                out,
                "  candidate: {}",
                arn_and_date(t.candidate_certificate_arn, &t.candidate_not_after)
            )?;
            writeln!(
                out,
                "  action:    {} — {}",
                t.action.to_string().to_uppercase(),
                t.reason
            )?;
            if let Some(r) = &t.managed_renewal {
                let mark = if r.action_required {
                    "ACTION NEEDED: "
                } else {
                    ""
                };
                writeln!(out, "  renewal:   {mark}{}", r.detail)?;
            }
            if !t.rejected.is_empty() {
                writeln!(out, "  rejected:")?;
                for r in &t.rejected {
                    writeln!(out, "    - {}", r.certificate_arn)?;
                    writeln!(out, "      {}", r.reason)?;
                }
            }
            writeln!(out)?;
        }
        let count = |a: Action| self.targets.iter().filter(|t| t.action == a).count();
        writeln!(
            out,
            "{} target(s): {} to rotate, {} to keep, {} in error",
            self.targets.len(),
            count(Action::Rotate),
            count(Action::Keep),
            count(Action::Error)
        )
    }
}

fn arn_and_date(arn: Option<&str>, date: &Option<String>) -> String {
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
