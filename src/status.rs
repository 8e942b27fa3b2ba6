//! `status`: how every target is doing, from AWS (read-only) and the state file.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::human::rfc3339;
use crate::observe::Planned;
use crate::select::Action;
use crate::state::{State, SwapResult};

/// One row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatusRow {
    /// The custom domain.
    pub domain: String,
    /// The user pool.
    pub user_pool_id: String,
    /// The certificate the domain uses.
    pub current_certificate_arn: Option<String>,
    /// Its NotAfter.
    pub not_after: Option<String>,
    /// Whole days until NotAfter.
    pub days_left: Option<i64>,
    /// The last finished swap: when and how.
    pub last_rotation: Option<String>,
    /// verified / verifying until T / failed: why / none.
    pub verification: String,
    /// Whether this target needs attention.
    pub healthy: bool,
    /// Why not, when it is not.
    pub problem: Option<String>,
    /// The account: its ID when reached through a role, else `default`.
    pub account: String,
    /// Held by a canary rollout: why.
    pub held: Option<String>,
    /// Certificates refused for this domain (ARN → why), cleared by `forget`.
    pub denylist: std::collections::BTreeMap<String, String>,
    /// Consecutive failed passes (the daemon backs off after failures).
    pub failures: u32,
    /// ACM's managed renewal of the current certificate, when ACM renews it and it is inside
    /// its renewal window: one sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_renewal: Option<String>,
    /// What the edge serves for the domain now, when `status` probed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeRow>,
}

/// What a TLS handshake with the domain's edge showed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EdgeRow {
    /// The serial of the leaf certificate served (colon hex), when the handshake worked.
    pub serial: Option<String>,
    /// Its NotAfter.
    pub not_after: Option<String>,
    /// Whether it is the certificate the domain is configured with (None: unknown).
    pub matches_current: Option<bool>,
    /// Why the probe failed, when it did.
    pub error: Option<String>,
}

impl EdgeRow {
    /// The row for one look at the edge.
    pub fn of(look: &crate::edge::EdgeLook) -> EdgeRow {
        match &look.served {
            Ok(hs) => EdgeRow {
                serial: Some(hs.serial.to_string()),
                not_after: hs.not_after.map(|t| rfc3339(&t)),
                matches_current: look.matches_current(),
                error: None,
            },
            Err(e) => EdgeRow {
                serial: None,
                not_after: None,
                matches_current: None,
                error: Some(e.to_string()),
            },
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// One row per target.
    pub targets: Vec<StatusRow>,
    /// When the daemon's schedule fires next.
    pub next_pass: Option<String>,
    /// Who leads, with DynamoDB state: "HOLDER on HOST until TIME (epoch N)", or "none".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
}

impl StatusReport {
    /// Build from a read-only plan and the state file.
    pub fn new(
        planned: &[Planned],
        state: &State,
        now: DateTime<Utc>,
        next_pass: Option<DateTime<Utc>>,
        rollout: &crate::config::Rollout,
    ) -> StatusReport {
        let gating = crate::step::gates(rollout, planned, state, now);
        let targets = planned
            .iter()
            .map(|p| {
                let d = &p.decision;
                let record = state.domains.get(&p.target.domain);
                let not_after = d.current.as_ref().and_then(|c| c.not_after);
                let (verification, verification_failed) = match record {
                    Some(r) if r.pending.is_some() => {
                        let pending = r.pending.as_ref().map(|p| rfc3339(&p.deadline));
                        (
                            format!("verifying until {}", pending.unwrap_or_default()),
                            false,
                        )
                    }
                    Some(r) => match &r.last {
                        Some(last) => match last.result {
                            SwapResult::Verified => ("verified".to_string(), false),
                            SwapResult::Unverified => {
                                ("not verified (no --wait)".to_string(), false)
                            }
                            SwapResult::Failed => (format!("failed: {}", last.detail), true),
                        },
                        None => ("none".to_string(), false),
                    },
                    None => ("none".to_string(), false),
                };
                let required = d.current.as_ref().and_then(|c| {
                    Some(p.target.min_validity.required(c.not_before?, c.not_after?))
                });
                let min_end = required
                    .and_then(|r| chrono::Duration::from_std(r).ok())
                    .and_then(|m| now.checked_add_signed(m));
                let expiring = matches!((not_after, min_end), (Some(n), Some(m)) if n <= m);
                let (held, blocked) = match gating.gates.get(&p.target.domain) {
                    Some(crate::rollout::Gate::Hold(why)) => (Some(why.clone()), false),
                    Some(crate::rollout::Gate::Blocked(why)) => (Some(why.clone()), true),
                    _ => (None, false),
                };
                let problem = if d.action == Action::Error {
                    Some(d.reason.clone())
                } else if blocked {
                    held.clone()
                } else if verification_failed {
                    Some(verification.clone())
                } else if let Some(r) = p.managed_renewal.as_ref().filter(|r| r.needs_action()) {
                    Some(r.describe())
                } else if expiring {
                    Some(format!(
                        "the current certificate expires within its min_validity ({})",
                        p.target.min_validity
                    ))
                } else {
                    None
                };
                StatusRow {
                    domain: p.target.domain.clone(),
                    user_pool_id: p.target.user_pool_id.clone(),
                    current_certificate_arn: d.current_arn.clone(),
                    not_after: not_after.map(|t| rfc3339(&t)),
                    days_left: not_after.map(|t| (t - now).num_days()),
                    last_rotation: record.and_then(|r| r.last.as_ref()).map(|l| {
                        let result = match l.result {
                            SwapResult::Verified => "verified",
                            SwapResult::Failed => "failed",
                            SwapResult::Unverified => "unverified",
                        };
                        format!(
                            "{} {result}",
                            rfc3339(&l.swapped_at.unwrap_or(l.finished_at))
                        )
                    }),
                    verification,
                    healthy: problem.is_none(),
                    problem,
                    account: crate::aws::accounts::label(&p.target.role),
                    held,
                    denylist: record.map(|r| r.denied()).unwrap_or_default(),
                    failures: record.map_or(0, |r| r.failures),
                    managed_renewal: p.managed_renewal.as_ref().map(|r| r.describe()),
                    edge: None,
                }
            })
            .collect();
        StatusReport {
            targets,
            next_pass: next_pass.map(|t| rfc3339(&t)),
            leader: None,
        }
    }

    /// Whether every target is healthy (exit 0).
    pub fn healthy(&self) -> bool {
        self.targets.iter().all(|t| t.healthy)
    }

    /// A table a person reads at a glance.
    pub fn to_text(&self) -> String {
        let header = [
            "DOMAIN",
            "USER POOL",
            "CERTIFICATE",
            "NOT AFTER",
            "DAYS",
            "LAST ROTATION",
            "VERIFICATION",
        ];
        let rows: Vec<[String; 7]> = self
            .targets
            .iter()
            .map(|t| {
                [
                    t.domain.clone(),
                    t.user_pool_id.clone(),
                    t.current_certificate_arn
                        .as_deref()
                        .map_or("-".to_string(), |a| crate::model::arn_tail(a).to_string()),
                    t.not_after.clone().unwrap_or_else(|| "-".into()),
                    t.days_left.map_or("-".into(), |d| d.to_string()),
                    t.last_rotation.clone().unwrap_or_else(|| "-".into()),
                    t.verification.clone(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        if let Some(leader) = &self.leader {
            let _ = writeln!(out, "leader: {leader}");
        }
        let line = |cells: Vec<&str>, out: &mut String| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", padded.join("  ").trim_end());
        };
        line(header.to_vec(), &mut out);
        for row in &rows {
            line(row.iter().map(String::as_str).collect(), &mut out);
        }
        for t in self.targets.iter().filter(|t| !t.healthy) {
            let _ = writeln!(
                out,
                "! {}: {}",
                t.domain,
                t.problem.as_deref().unwrap_or("unhealthy")
            );
        }
        for t in &self.targets {
            if let (Some(why), true) = (&t.held, t.healthy) {
                let _ = writeln!(out, "~ {}: {why}", t.domain);
            }
            for (arn, why) in &t.denylist {
                let _ = writeln!(
                    out,
                    "x {}: {} denylisted: {why}",
                    t.domain,
                    crate::model::arn_tail(arn)
                );
            }
            if let Some(edge) = &t.edge {
                let what = match (&edge.serial, edge.matches_current) {
                    (Some(serial), Some(true)) => format!(
                        "serves serial {serial} (the current certificate), expires {}",
                        edge.not_after.as_deref().unwrap_or("?")
                    ),
                    (Some(serial), Some(false)) => format!(
                        "serves serial {serial}, NOT the current certificate (drift), expires {}",
                        edge.not_after.as_deref().unwrap_or("?")
                    ),
                    (Some(serial), None) => format!(
                        "serves serial {serial}, expires {}",
                        edge.not_after.as_deref().unwrap_or("?")
                    ),
                    (None, _) => format!("probe failed: {}", edge.error.as_deref().unwrap_or("?")),
                };
                let _ = writeln!(out, "edge {}: {what}", t.domain);
            }
            if t.failures > 0 {
                let _ = writeln!(
                    out,
                    "! {}: failed {} pass(es) in a row; the daemon retries with backoff",
                    t.domain, t.failures
                );
            }
        }
        let _ = writeln!(
            out,
            "next pass: {}",
            self.next_pass.as_deref().unwrap_or("-")
        );
        out
    }
}
