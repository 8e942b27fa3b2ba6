//! PURE: notifications where hooks cannot run (`notify:`): what happened to a domain, as one
//! message per event for SNS or a webhook, with the key that makes it be sent once.
//!
//! The messages are built here from plain data; [`deliver`] sends them (retried, counted,
//! recorded in the state so a restart, a failover or an overlapping `once` does not resend).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::format::rfc3339;
use crate::model::{arn_tail, Certificate, ConsumerKind};
use crate::planned::Planned;
use crate::state::records::Announcement;

pub mod deliver;
pub mod error;

pub use crate::model::NoticeKind as Kind;

/// What a person should do about a `kind` of event on `domain`.
pub fn what_to_do(kind: Kind, domain: &str) -> String {
    match kind {
            Kind::Rotated => "nothing yet: the rotator verifies the edge within verify.window".to_string(),
            Kind::Verified => "nothing: the edge serves the new certificate".to_string(),
            Kind::Failed => format!("read the reason; `cognito-cert-rotator status` shows {domain}, docs/troubleshooting.md says what to do"),
            Kind::RolledBack => format!("the new certificate is denylisted for {domain}: fix it (or the edge), then run `cognito-cert-rotator forget {domain}`"),
            Kind::RenewalActionRequired => "complete ACM's validation of the certificate (its DNS or email records), or import a new one".to_string(),
            Kind::ExternalChange => format!("decide which certificate {domain} should use (docs/terraform.md), then run `cognito-cert-rotator forget {domain}`"),
            Kind::Expiring => format!("issue or import a newer certificate covering {domain} in ACM (us-east-1, or the consumer's region for a regional API Gateway domain or a listener); the rotator swaps it in"),
            Kind::Retired => "nothing: nothing has used it since the rotator moved the domain off it (retire:)".to_string(),
        }
}

/// A certificate named in a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRef {
    /// Its ARN.
    pub arn: String,
    /// When it expires, when known.
    pub not_after: Option<DateTime<Utc>>,
}

impl CertRef {
    /// The ARN alone.
    pub fn arn(arn: &str) -> CertRef {
        CertRef {
            arn: arn.to_string(),
            not_after: None,
        }
    }

    /// A certificate as ACM listed it.
    pub fn of(cert: &Certificate) -> CertRef {
        CertRef {
            arn: cert.arn.clone(),
            not_after: cert.not_after,
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({ "arn": self.arn, "not_after": self.not_after.map(|t| rfc3339(&t)) })
    }

    fn line(&self) -> String {
        match self.not_after {
            Some(t) => format!("{} (expires {})", arn_tail(&self.arn), rfc3339(&t)),
            None => arn_tail(&self.arn).to_string(),
        }
    }
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What happened.
    pub kind: Kind,
    /// The custom domain.
    pub domain: String,
    /// What serves it: the user pool ID, distribution ID, API Gateway domain or listener ARN.
    pub consumer: String,
    /// The consumer's kind.
    pub consumer_kind: ConsumerKind,
    /// The account (its ID, or `default`).
    pub account: String,
    /// The certificate it was on (or is on).
    pub old: Option<CertRef>,
    /// The certificate it moved (or would move) to.
    pub new: Option<CertRef>,
    /// Why, in one sentence.
    pub reason: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What makes it this event and no other: the same key is sent once.
    pub key: String,
}

impl Notice {
    /// A notice about `planned`'s target, keyed by `kind` and `detail`.
    pub fn about(
        kind: Kind,
        planned: &Planned,
        reason: String,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Notice {
        let d = &planned.decision;
        Notice {
            kind,
            domain: planned.target.domain.clone(),
            consumer: planned.target.consumer_id().to_string(),
            consumer_kind: planned.target.kind(),
            account: crate::config::model::account_label(&planned.target.role),
            old: d
                .current
                .as_ref()
                .map(CertRef::of)
                .or_else(|| d.current_arn.as_deref().map(CertRef::arn)),
            new: d.candidate.as_ref().map(CertRef::of),
            reason,
            at,
            key: format!("{}:{detail}", kind.name()),
        }
    }

    /// The notice of a swap's (or renewal's) outcome on `domain`, keyed as the outcome is
    /// ([`Announcement::key`]), so the recording replica and a successor send the same one.
    pub fn announcing(domain: &str, a: &Announcement) -> Notice {
        Notice {
            kind: a.kind,
            domain: domain.to_string(),
            consumer: a.consumer.clone(),
            consumer_kind: a.consumer_kind,
            account: a.account.clone(),
            old: a.old_arn.as_ref().map(|arn| CertRef {
                arn: arn.clone(),
                not_after: a.expiry.old,
            }),
            new: Some(CertRef {
                arn: a.new_arn.clone(),
                not_after: a.expiry.new,
            }),
            reason: a.reason.clone(),
            at: a.at,
            key: a.key(),
        }
    }

    /// The message as JSON: SNS's message and the webhook's `json` format.
    pub fn json(&self) -> serde_json::Value {
        json!({
            "event": self.kind.name(),
            "domain": self.domain,
            "kind": self.consumer_kind.label(),
            "consumer": self.consumer,
            "user_pool_id": self.consumer_kind.is_cognito().then_some(&self.consumer),
            "account": self.account,
            "old_certificate": self.old.as_ref().map(CertRef::json),
            "new_certificate": self.new.as_ref().map(CertRef::json),
            "reason": self.reason,
            "what_to_do": what_to_do(self.kind, &self.domain),
            "time": rfc3339(&self.at),
        })
    }

    /// One line: `auth.example.com: rotated — REASON`.
    pub fn subject(&self) -> String {
        format!("{}: {}", self.domain, self.kind.name().replace('_', " "))
    }

    /// The webhook's `slack` format: a text fallback and one section block.
    pub fn slack(&self) -> serde_json::Value {
        let mut body = format!(
            "*{}*\n{}\n{} `{}` in account `{}`",
            self.subject(),
            self.reason,
            self.consumer_kind.noun(),
            self.consumer,
            self.account
        );
        if let Some(old) = &self.old {
            body.push_str(&format!("\nfrom: {}", old.line()));
        }
        if let Some(new) = &self.new {
            body.push_str(&format!("\nto: {}", new.line()));
        }
        body.push_str(&format!(
            "\nwhat to do: {}",
            what_to_do(self.kind, &self.domain)
        ));
        json!({
            "text": format!("{} — {}", self.subject(), self.reason),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}],
        })
    }
}

/// Days left below which an `expiring` notice is sent, once each.
pub const EXPIRING_THRESHOLDS: [i64; 2] = [21, 7];

/// An `expiring` notice when the certificate the domain serves has fewer than 21 (then 7)
/// days left and nothing better exists (no swap is wanted).
pub fn expiring(planned: &Planned, now: DateTime<Utc>) -> Option<Notice> {
    let d = &planned.decision;
    if d.action == crate::select::Action::Swap {
        return None;
    }
    let current = d.current.as_ref()?;
    let left = current.not_after? - now;
    let threshold = EXPIRING_THRESHOLDS
        .into_iter()
        .filter(|days| left < chrono::Duration::days(*days))
        .min()?;
    let reason = format!(
        "the certificate {} serves has {} day(s) left and no better certificate exists",
        planned.target.domain,
        left.num_days().max(0)
    );
    let mut notice = Notice::about(
        Kind::Expiring,
        planned,
        reason,
        &format!("{}:{threshold}d", current.arn),
        now,
    );
    notice.new = None;
    Some(notice)
}

#[cfg(test)]
mod tests;
