//! PURE decision logic: which certificates are eligible for a domain, which one wins, and
//! what to do about it — with a sentence for every certificate that lost.
//!
//! No I/O and no clock: `now` is an argument. Everything here is tested exhaustively.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::format::rfc3339;
use crate::model::{Certificate, Consumer, ConsumerKind, DomainInfo, DomainStatus, DomainView};

mod eligible;
mod refusal;

pub use eligible::{
    covers, eligibility, name_covers, needs, normalize_key_algorithm, Ineligible, Interest, Needs,
    Requirements, CERTIFICATE_REGION, CLOUDFRONT_KEY_ALGORITHMS,
};
pub use refusal::Refusal;

/// The preference order among eligible certificates: `Greater` is better. Latest NotAfter,
/// then later NotBefore, then later issue/import time, then the smaller ARN — a total order,
/// so the choice never flaps between equal candidates.
pub fn preference(a: &Certificate, b: &Certificate) -> Ordering {
    a.not_after
        .cmp(&b.not_after)
        .then(a.not_before.cmp(&b.not_before))
        .then(a.issued_at.cmp(&b.issued_at))
        .then(b.arn.cmp(&a.arn))
}

/// What to do with a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Swap the domain onto the candidate (`rotate` in the plan's words).
    #[serde(rename = "rotate")]
    Swap,
    /// Leave the domain as it is.
    Keep,
    /// Something needs a person: no eligible certificate, wrong pool, missing domain...
    Error,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Swap => "rotate",
            Action::Keep => "keep",
            Action::Error => "error",
        })
    }
}

/// A certificate that was not chosen, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Its ARN (the certificate ID is the last segment).
    pub arn: String,
    /// Why, in one sentence, as `plan` and the log say it.
    pub reason: String,
}

/// The decision for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Keep, swap (`rotate`) or error.
    pub action: Action,
    /// One sentence a person understands.
    pub reason: String,
    /// The certificate the domain uses now, when known.
    pub current: Option<Certificate>,
    /// The ARN the domain uses now (also when ACM does not know it).
    pub current_arn: Option<String>,
    /// The best eligible certificate.
    pub candidate: Option<Certificate>,
    /// Every other certificate that covers the domain, with the reason it lost.
    pub rejected: Vec<Rejection>,
    /// Why the current certificate is no longer usable (gone, expired, inside min_validity,
    /// not ISSUED...), when it is not.
    pub current_unusable: Option<String>,
    /// Why the action is `Error`, when selection refused (`None` for a target whose
    /// observation failed: its error says why).
    pub refused: Option<Refusal>,
}

impl Decision {
    /// An `Error` decision with nothing observed.
    pub fn error(reason: String) -> Decision {
        Decision {
            action: Action::Error,
            reason,
            current: None,
            current_arn: None,
            candidate: None,
            rejected: Vec::new(),
            current_unusable: None,
            refused: None,
        }
    }

    /// An `Error` decision with nothing observed, refused for `why`.
    pub fn refused(why: Refusal) -> Decision {
        Decision {
            refused: Some(why.clone()),
            ..Decision::error(why.to_string())
        }
    }
}

/// Inputs of [`decide`] about one target.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// The consumer the config says serves the domain.
    pub consumer: &'a Consumer,
    /// Its ID ([`Consumer::id`]), which its service must name as the domain's owner.
    pub consumer_id: &'a str,
    /// What the consumer's service says about the domain.
    pub domain: &'a DomainView,
    /// Every certificate that may matter: the scan, plus the current one if the scan missed it.
    pub certificates: &'a [Certificate],
}

/// Decide what to do for one target. Pure.
pub fn decide(req: &Requirements<'_>, obs: &Observed<'_>, now: DateTime<Utc>) -> Decision {
    let (info, current_arn) = match custom_domain(req, obs) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let current = obs
        .certificates
        .iter()
        .find(|c| c.arn == current_arn)
        .cloned();
    let current_status = match &current {
        Some(c) => eligibility(req, c, now),
        None => Err(Ineligible::NotFound),
    };
    let (best, rejected) = rank(req, obs.certificates, &current_arn, now);
    let mut decision = Decision {
        action: Action::Keep,
        reason: String::new(),
        current: current.clone(),
        current_arn: Some(current_arn.clone()),
        candidate: best.clone(),
        rejected,
        current_unusable: current_status.as_ref().err().map(|why| why.to_string()),
        refused: None,
    };
    let Some(best) = best else {
        decision.refuse(Refusal::NoEligible {
            domain: req.domain.to_string(),
            current: current_status.err(),
        });
        return decision;
    };
    let reason = if best.arn == current_arn {
        None
    } else {
        rotate_reason(&best, current.as_ref(), &current_status)
    };
    match settle(reason, &best, &current_arn, info) {
        Ok((action, reason)) => (decision.action, decision.reason) = (action, reason),
        Err(refusal) => decision.refuse(refusal),
    }
    decision
}

impl Decision {
    /// Make this decision an `Error` refused for `why`.
    fn refuse(&mut self, why: Refusal) {
        self.action = Action::Error;
        self.reason = why.to_string();
        self.refused = Some(why);
    }
}

/// The domain as a custom domain of the configured user pool: its description and current
/// certificate ARN, or the decision that refuses it (missing, another pool's, a prefix domain).
fn custom_domain<'a>(
    req: &Requirements<'_>,
    obs: &Observed<'a>,
) -> Result<(&'a DomainInfo, String), Box<Decision>> {
    let error = |why| Box::new(Decision::refused(why));
    let domain = req.domain.to_string();
    let info = match obs.domain {
        DomainView::Missing => {
            return Err(error(Refusal::NoDomain {
                consumer: obs.consumer.describe(&domain),
                kind: obs.consumer.kind(),
                domain,
            }))
        }
        DomainView::Present(info) => info,
    };
    if info.owner != obs.consumer_id {
        return Err(error(Refusal::OtherPool {
            domain,
            owner: info.owner.clone(),
            configured: obs.consumer_id.to_string(),
        }));
    }
    let Some(current_arn) = info.certificate_arn.clone() else {
        return Err(error(match obs.consumer.kind() {
            ConsumerKind::Cognito => Refusal::PrefixDomain { domain },
            _ => Refusal::NoAcmCertificate {
                consumer: obs.consumer.describe(&domain),
                domain,
            },
        }));
    };
    Ok((info, current_arn))
}

/// The best eligible certificate among those covering the domain (and the current one), and
/// why every other one lost.
fn rank(
    req: &Requirements<'_>,
    certificates: &[Certificate],
    current_arn: &str,
    now: DateTime<Utc>,
) -> (Option<Certificate>, Vec<Rejection>) {
    let mut eligible: Vec<&Certificate> = Vec::new();
    // Every certificate but the winner is explained: room for all of them, allocated once.
    let mut rejected = Vec::with_capacity(certificates.len());
    for cert in certificates {
        if !covers(cert, req.domain) && cert.arn != current_arn {
            continue;
        }
        match eligibility(req, cert, now) {
            Ok(()) => eligible.push(cert),
            Err(why) => rejected.push(Rejection {
                arn: cert.arn.clone(),
                reason: sentence(&why),
            }),
        }
    }
    eligible.sort_by(|a, b| preference(b, a));
    let best = eligible.first().copied().cloned();
    if let Some(best) = &best {
        for loser in eligible.iter().skip(1) {
            rejected.push(Rejection {
                arn: loser.arn.clone(),
                reason: lost_to(loser, best),
            });
        }
    }
    (best, rejected)
}

/// Why `best` should replace the current certificate, if it should.
fn rotate_reason(
    best: &Certificate,
    current: Option<&Certificate>,
    current_status: &Result<(), Ineligible>,
) -> Option<String> {
    match (current_status, current) {
        (Err(why), _) => Some(format!(
            "the current certificate is no longer usable ({why}); {} expires at {}",
            best.arn_tail(),
            opt_time(best.not_after)
        )),
        (Ok(()), Some(cur)) if best.not_after > cur.not_after => Some(format!(
            "{} expires at {}, later than the current certificate ({})",
            best.arn_tail(),
            opt_time(best.not_after),
            opt_time(cur.not_after)
        )),
        _ => None,
    }
}

/// The action and its reason: keep, or rotate when the domain can take a change now; refused
/// when the domain's status needs a person first.
fn settle(
    rotate: Option<String>,
    best: &Certificate,
    current_arn: &str,
    info: &DomainInfo,
) -> Result<(Action, String), Refusal> {
    Ok(match rotate {
        None if best.arn == current_arn => (
            Action::Keep,
            format!(
                "the current certificate is the best eligible one (expires at {})",
                opt_time(best.not_after)
            ),
        ),
        None => (
            Action::Keep,
            format!(
                "the current certificate is still eligible and no candidate expires later (both at {})",
                opt_time(best.not_after)
            ),
        ),
        Some(reason) if info.status == DomainStatus::Active => (Action::Swap, reason),
        Some(reason) if info.status.needs_a_person() => {
            return Err(Refusal::NeedsAPerson {
                reason,
                status: info.status.clone(),
            })
        }
        Some(reason) => (
            Action::Keep,
            format!(
                "would rotate ({reason}), but the domain is {} (a change is in progress); will look again next pass",
                info.status
            ),
        ),
    })
}

fn sentence(why: &Ineligible) -> String {
    let mut s = why.to_string();
    if let Some(first) = s.get(..1) {
        let upper = first.to_ascii_uppercase();
        s.replace_range(..1, &upper);
    }
    s.push('.');
    s
}

fn lost_to(loser: &Certificate, best: &Certificate) -> String {
    let tail = best.arn_tail();
    if loser.not_after != best.not_after {
        format!(
            "Eligible, but expires at {}, before {} ({}).",
            opt_time(loser.not_after),
            tail,
            opt_time(best.not_after)
        )
    } else if loser.not_before != best.not_before {
        format!("Eligible, same expiry as {tail}, which became valid later (tie-break: NotBefore).")
    } else if loser.issued_at != best.issued_at {
        format!("Eligible, same validity as {tail}, which was issued or imported later (tie-break: issue time).")
    } else {
        format!("Eligible, identical validity to {tail} (tie-break: the smaller ARN wins).")
    }
}

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.as_ref()
        .map_or_else(|| "an unknown time".to_string(), rfc3339)
}

#[cfg(test)]
mod tests;
