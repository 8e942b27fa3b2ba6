//! `status`: how every target is doing, from AWS (read-only) and the state file.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::format::rfc3339;
use crate::planned::Planned;
use crate::rollout::Gate;
use crate::select::Action;
use crate::state::records::{DomainRecord, State, SwapResult};

mod text;

/// One row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatusRow {
    /// The custom domain, lowercase (`auth.example.com`).
    pub domain: String,
    /// The consumer's kind: `cognito`, `cloudfront`, `api_gateway`, `listener`.
    pub kind: crate::model::ConsumerKind,
    /// What serves it: the user pool ID, distribution ID, API Gateway domain or listener ARN.
    pub consumer: String,
    /// The user pool ID (Cognito targets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pool_id: Option<String>,
    /// The certificate the domain uses.
    pub current_certificate_arn: Option<String>,
    /// When it expires (RFC 3339), when known.
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
    /// Managed through `discovery:` (`tag KEY=VALUE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovered: Option<String>,
    /// A wanted swap the change windows or a freeze defer: `deferred: …`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deferred: Option<String>,
    /// What the edge serves for the domain now, when `status` probed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeRow>,
}

/// What a TLS handshake with the domain's edge showed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EdgeRow {
    /// The serial of the leaf certificate served (colon hex), when the handshake worked.
    pub serial: Option<String>,
    /// When it expires (RFC 3339), when known.
    pub not_after: Option<String>,
    /// Whether it is the certificate the domain is configured with (None: unknown).
    pub matches_current: Option<bool>,
    /// Why the probe failed, when it did.
    pub error: Option<String>,
    /// With several edge addresses: how many serve the configured certificate
    /// (`2/3 edge addresses serve the configured certificate (…)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<String>,
}

impl EdgeRow {
    /// The row for one look at the edge.
    pub fn of(look: &crate::edge::EdgeLook) -> EdgeRow {
        let addresses = look
            .split
            .as_ref()
            .filter(|s| s.answering() + s.unreachable.len() > 1)
            .map(|s| s.summary_of("the configured certificate"));
        match &look.served {
            Ok(hs) => EdgeRow {
                serial: Some(hs.serial.to_string()),
                not_after: hs.not_after.map(|t| rfc3339(&t)),
                matches_current: look.matches_current(),
                error: None,
                addresses,
            },
            Err(e) => EdgeRow {
                serial: None,
                not_after: None,
                matches_current: None,
                error: Some(e.to_string()),
                addresses,
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
    /// With `discovery:`: custom domains found but neither listed nor tagged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<String>,
}

impl StatusReport {
    /// Build from a read-only plan and the state.
    pub fn new(
        planned: &[Planned],
        state: &State,
        now: DateTime<Utc>,
        next_pass: Option<DateTime<Utc>>,
        rollout: &crate::config::model::Rollout,
    ) -> StatusReport {
        let gating = crate::step::gates(rollout, planned, state, now);
        let targets = planned
            .iter()
            .map(|p| {
                row(
                    p,
                    state.domains.get(&p.target.domain),
                    gating.gates.get(&p.target.domain),
                    now,
                )
            })
            .collect();
        StatusReport {
            unmanaged: Vec::new(),
            targets,
            next_pass: next_pass.map(|t| rfc3339(&t)),
            leader: None,
        }
    }

    /// Whether every target is healthy (exit 0).
    pub fn healthy(&self) -> bool {
        self.targets.iter().all(|t| t.healthy)
    }
}

/// One target's row.
fn row(
    p: &Planned,
    record: Option<&DomainRecord>,
    gate: Option<&Gate>,
    now: DateTime<Utc>,
) -> StatusRow {
    let d = &p.decision;
    let not_after = d.current.as_ref().and_then(|c| c.not_after);
    let (verification, verification_failed) = verification_of(record);
    let expiring = expiring(p, now);
    // A swap the change windows or a freeze defer is held, not failing.
    let deferred =
        match (d.action == Action::Swap).then(|| p.target.policy.permit(d.current.as_ref(), now)) {
            Some(crate::window::Permit::Deferred(x)) => Some(x.sentence()),
            _ => None,
        };
    let (held, blocked) = match gate {
        Some(Gate::Hold(why)) => (Some(why.clone()), false),
        Some(Gate::Blocked(why)) => (Some(why.clone()), true),
        _ => (None, false),
    };
    let renewal = p
        .managed_renewal
        .as_ref()
        .filter(|r| r.needs_action())
        .map(|r| r.summary());
    let min_validity = p.target.min_validity.to_string();
    let external = record
        .and_then(|r| r.external.as_ref())
        .map(|e| external_line(e, &p.target.domain));
    let problem = problem(&Signals {
        decision_error: (d.action == Action::Error).then_some(d.reason.as_str()),
        external_change: external.as_deref(),
        blocked: held.as_deref().filter(|_| blocked),
        verification_failed: verification_failed.then_some(verification.as_str()),
        renewal_action: renewal.as_deref(),
        expiring_within: expiring.then_some(min_validity.as_str()),
    });
    StatusRow {
        domain: p.target.domain.clone(),
        kind: p.target.kind(),
        consumer: p.target.consumer_id().to_string(),
        user_pool_id: p.target.consumer.user_pool_id().map(str::to_string),
        current_certificate_arn: d.current_arn.clone(),
        not_after: not_after.map(|t| rfc3339(&t)),
        days_left: not_after.map(|t| (t - now).num_days()),
        last_rotation: record.and_then(|r| r.last.as_ref()).map(last_rotation),
        verification,
        healthy: problem.is_none(),
        problem,
        account: crate::aws::accounts::label(&p.target.role),
        held,
        denylist: record.map(|r| r.denied()).unwrap_or_default(),
        failures: record.map_or(0, |r| r.failures),
        managed_renewal: p.managed_renewal.as_ref().map(|r| r.summary()),
        edge: None,
        deferred,
        discovered: p.target.discovered.clone(),
    }
}

/// Whether the current certificate is inside its `min_validity` now.
fn expiring(p: &Planned, now: DateTime<Utc>) -> bool {
    let Some(c) = p.decision.current.as_ref() else {
        return false;
    };
    let (Some(not_before), Some(not_after)) = (c.not_before, c.not_after) else {
        return false;
    };
    let required = p.target.min_validity.required(not_before, not_after);
    chrono::Duration::from_std(required)
        .ok()
        .and_then(|m| now.checked_add_signed(m))
        .is_some_and(|min_end| not_after <= min_end)
}

/// The external-change hold, as `status` says it.
fn external_line(e: &crate::state::ExternalChange, domain: &str) -> String {
    format!(
        "external change: moved outside the rotator from {} onto {} (found {}); held, no swap, until `cognito-cert-rotator forget {domain}`",
        crate::model::arn_tail(&e.ours),
        crate::model::arn_tail(&e.found),
        rfc3339(&e.since),
    )
}

/// The last swap: when, and how it ended.
fn last_rotation(l: &crate::state::FinishedSwap) -> String {
    let result = match l.result {
        SwapResult::Verified => "verified",
        SwapResult::Failed => "failed",
        SwapResult::Unverified => "unverified",
    };
    format!(
        "{} {result}",
        rfc3339(&l.swapped_at.unwrap_or(l.finished_at))
    )
}

/// How the last swap's verification stands, and whether that is a failure.
fn verification_of(record: Option<&DomainRecord>) -> (String, bool) {
    let Some(r) = record else {
        return ("none".to_string(), false);
    };
    if let Some(pending) = &r.pending {
        return (
            format!("verifying until {}", rfc3339(&pending.deadline)),
            false,
        );
    }
    match r.last.as_ref().map(|l| (&l.result, &l.detail)) {
        Some((SwapResult::Verified, _)) => ("verified".to_string(), false),
        Some((SwapResult::Unverified, _)) => ("not verified (no --wait)".to_string(), false),
        Some((SwapResult::Failed, detail)) => (format!("failed: {detail}"), true),
        None => ("none".to_string(), false),
    }
}

/// What can make a target unhealthy, as plain facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals<'a> {
    /// Observing or deciding failed: why.
    pub decision_error: Option<&'a str>,
    /// The domain was moved off the rotator's certificate outside it and is held: what.
    pub external_change: Option<&'a str>,
    /// A failed canary blocks its rollout: why.
    pub blocked: Option<&'a str>,
    /// The last swap failed verification: the verification line.
    pub verification_failed: Option<&'a str>,
    /// ACM's managed renewal needs a person: the sentence.
    pub renewal_action: Option<&'a str>,
    /// The current certificate expires within its min_validity: that min_validity.
    pub expiring_within: Option<&'a str>,
}

/// The health rule behind `status`'s exit code: a target's problem, the most urgent first, or
/// `None` when it is healthy. A rollout hold alone is not a problem; a block is.
pub fn problem(s: &Signals<'_>) -> Option<String> {
    if let Some(why) = s
        .decision_error
        .or(s.external_change)
        .or(s.blocked)
        .or(s.verification_failed)
        .or(s.renewal_action)
    {
        return Some(why.to_string());
    }
    s.expiring_within
        .map(|m| format!("the current certificate expires within its min_validity ({m})"))
}

#[cfg(test)]
mod tests;
