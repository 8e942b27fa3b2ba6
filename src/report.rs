//! What people and programs read: the `plan` report (text or JSON) and pass summaries.
//!
//! The JSON shape of `plan --output json` is an interface: fields are only ever added. The
//! report is written target by target ([`PlanWriter`]).

use serde::Serialize;

use crate::format::rfc3339;
use crate::outcome::{Outcome, Verification};
use crate::planned::Planned;
use crate::select::Action;

/// One target of `plan --output json` (the report is `{"targets": [...]}`, one entry per
/// target in config order). Borrows from the plan.
#[derive(Debug, Serialize)]
pub struct TargetReport<'a> {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: &'a str,
    /// The consumer's kind: `cognito`, `cloudfront`, `api_gateway`, `listener`.
    pub kind: crate::model::ConsumerKind,
    /// What serves it: the user pool ID, distribution ID, API Gateway domain or listener ARN.
    pub consumer: &'a str,
    /// The configured user pool (Cognito targets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pool_id: Option<&'a str>,
    /// The ARN the domain uses now.
    pub current_certificate_arn: Option<&'a str>,
    /// When it expires (RFC 3339), when known.
    pub current_not_after: Option<String>,
    /// The best eligible certificate.
    pub candidate_certificate_arn: Option<&'a str>,
    /// When it expires (RFC 3339), when known.
    pub candidate_not_after: Option<String>,
    /// rotate, keep or error.
    pub action: Action,
    /// Why, in one sentence, as `plan` and the log say it.
    pub reason: &'a str,
    /// Every other matching certificate, with why it lost.
    pub rejected: Vec<RejectedReport<'a>>,
    /// ACM's managed renewal of the current certificate, when ACM renews it and it is
    /// inside its renewal window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_renewal: Option<RenewalReport<'a>>,
    /// The domain was moved off the rotator's certificate outside it: what the rotator does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_change: Option<&'a str>,
    /// A wanted swap and the change windows or freezes: `deferred: …`, or the rule an urgent
    /// swap breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Managed through `discovery:` (`tag KEY=VALUE`), not listed under `domains:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovered: Option<&'a str>,
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
    /// Why, in one sentence, as `plan` and the log say it.
    pub detail: String,
}

/// A certificate that was not chosen.
#[derive(Debug, Serialize)]
pub struct RejectedReport<'a> {
    /// Its ARN (the certificate ID is the last segment).
    pub certificate_arn: &'a str,
    /// Why, in one sentence, as `plan` and the log say it.
    pub reason: &'a str,
}

impl<'a> TargetReport<'a> {
    /// The report of one planned target.
    pub fn new(p: &'a Planned) -> TargetReport<'a> {
        let not_after = |c: &Option<crate::model::Certificate>| {
            c.as_ref().and_then(|c| c.not_after).map(|t| rfc3339(&t))
        };
        let d = &p.decision;
        TargetReport {
            domain: &p.target.domain,
            kind: p.target.kind(),
            consumer: p.target.consumer_id(),
            user_pool_id: p.target.consumer.user_pool_id(),
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
                detail: r.summary(),
            }),
            external_change: None,
            window: None,
            discovered: p.target.discovered.as_deref(),
        }
    }

    fn write_text(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let noun = self.kind.noun();
        writeln!(out, "{} ({noun} {})", self.domain, self.consumer)?;
        writeln!(
            out,
            "  current:   {}",
            arn_and_date(self.current_certificate_arn, &self.current_not_after)
        )?;
        writeln!(
            out,
            "  candidate: {}",
            arn_and_date(self.candidate_certificate_arn, &self.candidate_not_after)
        )?;
        writeln!(
            out,
            "  action:    {} — {}",
            self.action.to_string().to_uppercase(),
            self.reason
        )?;
        if let Some(e) = self.external_change {
            writeln!(out, "  external:  {e}")?;
        }
        if let Some(w) = &self.window {
            writeln!(out, "  window:    {w}")?;
        }
        if let Some(d) = self.discovered {
            writeln!(out, "  discovered: {d}")?;
        }
        if let Some(r) = &self.managed_renewal {
            let mark = if r.action_required {
                "ACTION NEEDED: "
            } else {
                ""
            };
            writeln!(out, "  renewal:   {mark}{}", r.detail)?;
        }
        if !self.rejected.is_empty() {
            writeln!(out, "  rejected:")?;
            for r in &self.rejected {
                writeln!(out, "    - {}", r.certificate_arn)?;
                writeln!(out, "      {}", r.reason)?;
            }
        }
        writeln!(out)
    }
}

/// How `plan` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object, `{"targets": [...]}`.
    Json,
}

/// Writes the `plan` report target by target, as each is decided: nothing of a target is
/// kept once it is written, so a plan of many targets is never held in memory whole.
#[derive(Debug)]
pub struct PlanWriter<W: std::io::Write> {
    out: W,
    format: Format,
    written: usize,
    counts: [usize; 3],
}

impl<W: std::io::Write> PlanWriter<W> {
    /// A writer of `format` to `out`.
    pub fn new(out: W, format: Format) -> PlanWriter<W> {
        PlanWriter {
            out,
            format,
            written: 0,
            counts: [0; 3],
        }
    }

    /// Write one target; `external` says what an external change means for it, if any.
    pub fn target(
        &mut self,
        p: &Planned,
        external: Option<&str>,
        window: Option<String>,
    ) -> std::io::Result<()> {
        let mut t = TargetReport::new(p);
        t.external_change = external;
        t.window = window;
        self.counts[match t.action {
            Action::Swap => 0,
            Action::Keep => 1,
            Action::Error => 2,
        }] += 1;
        match self.format {
            Format::Text => t.write_text(&mut self.out)?,
            Format::Json => {
                let open = if self.written == 0 {
                    "{\n  \"targets\": [\n"
                } else {
                    ",\n"
                };
                self.out.write_all(open.as_bytes())?;
                // Pretty-printed and indented as one `serde_json::to_string_pretty` of the
                // whole report would be.
                let entry = serde_json::to_string_pretty(&t)?;
                for (i, line) in entry.lines().enumerate() {
                    if i > 0 {
                        self.out.write_all(b"\n")?;
                    }
                    write!(self.out, "    {line}")?;
                }
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Close the report (the JSON object, or the text summary line) and flush, with what
    /// `retire:` would do (`"retire": [...]`, or a `retire:` line each).
    pub fn finish(mut self, retire: &[crate::retire::review::Reviewed]) -> std::io::Result<()> {
        let retire_json: Vec<serde_json::Value> = retire
            .iter()
            .map(|r| {
                serde_json::json!({
                    "domain": r.domain,
                    "certificate": r.certificate,
                    "step": r.sentence,
                })
            })
            .collect();
        // `"retire"` only when there is something to say: a report without it reads as before.
        let retire_json = if retire_json.is_empty() {
            String::new()
        } else {
            let list = serde_json::to_string(&retire_json).map_err(std::io::Error::other)?;
            format!(",\n  \"retire\": {list}")
        };
        match self.format {
            Format::Json if self.written == 0 => {
                writeln!(self.out, "{{\n  \"targets\": []{retire_json}\n}}")?
            }
            Format::Json => writeln!(self.out, "\n  ]{retire_json}\n}}")?,
            Format::Text => {
                for r in retire {
                    writeln!(
                        self.out,
                        "retire: {}: {}: {}",
                        r.domain,
                        crate::model::arn_tail(&r.certificate),
                        r.sentence
                    )?;
                }
                writeln!(
                    self.out,
                    "{} target(s): {} to rotate, {} to keep, {} in error",
                    self.written, self.counts[0], self.counts[1], self.counts[2]
                )?
            }
        }
        self.out.flush()
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
        | Outcome::WouldSwap(why)
        | Outcome::Held(why)
        | Outcome::Blocked(why)
        | Outcome::BackingOff(why)
        | Outcome::Deferred(why)
        | Outcome::ExternalChange(why) => why.clone(),
        Outcome::Failed(error) => error.to_string(),
        Outcome::Verifying { to, deadline } => crate::step::verifying_line(to, deadline),
        Outcome::Swapped {
            from,
            to,
            verification,
        } => {
            let v = verification.summary();
            format!(
                "{} -> {}; {v}",
                from.as_deref().map_or("none", crate::model::arn_tail),
                crate::model::arn_tail(to)
            )
        }
        Outcome::Renewed { arn, verification } => format!(
            "{} renewed in place (no swap); {}",
            crate::model::arn_tail(arn),
            verification.summary()
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
            Outcome::Swapped {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TargetError;

    fn planned(domain: &str) -> Planned {
        Planned::failed(
            crate::fixtures::target(domain),
            TargetError::Selection(crate::select::Refusal::NoEligible {
                domain: "auth.example.com".into(),
                current: None,
            }),
        )
    }

    fn written(format: Format, plan: &[Planned]) -> String {
        let mut out = Vec::new();
        let mut w = PlanWriter::new(&mut out, format);
        for p in plan {
            w.target(p, None, None).unwrap();
        }
        w.finish(&[]).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_json_written_target_by_target_is_the_report_serialised_whole() {
        let plan = [planned("a.example.com"), planned("b.example.com")];
        let whole = serde_json::json!({
            "targets": plan.iter().map(TargetReport::new).collect::<Vec<_>>()
        });
        let text = written(Format::Json, &plan);
        assert_eq!(
            text,
            format!("{}\n", serde_json::to_string_pretty(&whole).unwrap())
        );
        let empty: serde_json::Value = serde_json::from_str(&written(Format::Json, &[])).unwrap();
        assert_eq!(empty, serde_json::json!({"targets": []}));
    }

    #[test]
    fn the_text_report_ends_with_the_counts() {
        let text = written(Format::Text, &[planned("a.example.com")]);
        assert!(
            text.starts_with("a.example.com (user pool us-east-1_A)\n"),
            "{text}"
        );
        assert!(
            text.contains("  action:    ERROR — no eligible certificate covers auth.example.com\n"),
            "{text}"
        );
        assert!(
            text.ends_with("1 target(s): 0 to rotate, 0 to keep, 1 in error\n"),
            "{text}"
        );
    }
}
