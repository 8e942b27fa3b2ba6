//! PURE: what an SQS message fed by the EventBridge rule for ACM says. An event the daemon
//! acts on is an [`AcmEvent`]; anything else is a [`NotAnEvent`] with the reason it is
//! dropped. The queue side lives in [`crate::daemon`] and [`crate::aws::sqs`]; the rule that
//! feeds the queue is in `deploy/events/` and matches [`DETAIL_TYPES`] and
//! [`AVAILABLE_ACTIONS`] (a test keeps them equal).

use std::fmt;

use serde::Deserialize;

/// The EventBridge `source` of ACM's events.
pub const SOURCE: &str = "aws.acm";

/// The ACM detail types that trigger a pass.
pub const DETAIL_TYPES: &[&str] = &[
    "ACM Certificate Available",
    "ACM Certificate Approaching Expiration",
    "ACM Certificate Renewal Action Required",
    "ACM Certificate Expired",
];

/// The `detail.Action` values of "ACM Certificate Available" that trigger a pass.
pub const AVAILABLE_ACTIONS: &[&str] = &["ISSUANCE", "RENEWAL", "IMPORT", "REIMPORT"];

/// An ACM event that triggers a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmEvent {
    /// The EventBridge event ID.
    pub id: String,
    /// One of [`DETAIL_TYPES`].
    pub detail_type: &'static str,
    /// `detail.Action` of "ACM Certificate Available" (ISSUANCE, IMPORT...).
    pub action: Option<String>,
    /// The certificate ARNs the event is about.
    pub resources: Vec<String>,
}

impl fmt::Display for AcmEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.detail_type)?;
        if let Some(action) = &self.action {
            write!(f, " ({action})")?;
        }
        match self.resources.as_slice() {
            [] => Ok(()),
            [one] => write!(f, " for {one}"),
            [first, rest @ ..] => write!(f, " for {first} and {} more", rest.len()),
        }
    }
}

/// Why a message is dropped instead of triggering a pass.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotAnEvent {
    /// Not JSON, or not shaped like an EventBridge event: serde's error is the `source()`.
    #[error("not an EventBridge event (expected the JSON EventBridge delivers: source, detail-type, detail)")]
    Malformed(#[source] std::sync::Arc<serde_json::Error>),
    /// An EventBridge event, but not one the daemon acts on: its `detail_type` label and why.
    #[error("{1}")]
    Ignored(&'static str, String),
}

impl NotAnEvent {
    /// The `result` label of `events_total`.
    pub fn result(&self) -> &'static str {
        match self {
            NotAnEvent::Malformed(_) => "malformed",
            NotAnEvent::Ignored(..) => "ignored",
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    id: String,
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    detail: serde_json::Value,
}

/// The `detail_type` label for a message: a known ACM detail type, `other` for any other
/// event (the label set stays bounded), `none` when the message is not an event at all.
pub fn label(parsed: &Result<AcmEvent, NotAnEvent>) -> &'static str {
    match parsed {
        Ok(e) => e.detail_type,
        Err(NotAnEvent::Malformed(_)) => "none",
        Err(NotAnEvent::Ignored(detail_type, _)) => detail_type,
    }
}

/// Read an SQS message body (the event itself, as EventBridge delivers it to SQS).
pub fn parse(body: &str) -> Result<AcmEvent, NotAnEvent> {
    let envelope: Envelope =
        serde_json::from_str(body).map_err(|e| NotAnEvent::Malformed(std::sync::Arc::new(e)))?;
    if envelope.source != SOURCE {
        return Err(NotAnEvent::Ignored(
            "other",
            format!("source \"{}\" is not {SOURCE}", envelope.source),
        ));
    }
    let Some(detail_type) = DETAIL_TYPES
        .iter()
        .copied()
        .find(|d| *d == envelope.detail_type)
    else {
        return Err(NotAnEvent::Ignored(
            "other",
            format!(
                "detail-type \"{}\" is not one of {}",
                envelope.detail_type,
                DETAIL_TYPES.join(", ")
            ),
        ));
    };
    let action = envelope
        .detail
        .get("Action")
        .and_then(|a| a.as_str())
        .map(str::to_string);
    if detail_type == DETAIL_TYPES[0] {
        match action.as_deref() {
            Some(a) if AVAILABLE_ACTIONS.contains(&a) => {}
            other => {
                return Err(NotAnEvent::Ignored(
                    detail_type,
                    format!(
                        "{detail_type} with Action {} (acted on: {})",
                        other.unwrap_or("(none)"),
                        AVAILABLE_ACTIONS.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(AcmEvent {
        id: envelope.id,
        detail_type,
        action,
        resources: envelope.resources,
    })
}

/// A pass's trigger, for its log lines: the events it answers, summarised.
pub fn summary(events: &[AcmEvent]) -> String {
    match events {
        [] => String::new(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} and {} more event(s)", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(detail_type: &str, detail: &str) -> String {
        format!(
            r#"{{"version":"0","id":"e-1","detail-type":"{detail_type}","source":"aws.acm","account":"123456789012","time":"2026-12-01T10:00:00Z","region":"us-east-1","resources":["arn:aws:acm:us-east-1:123456789012:certificate/abc"],"detail":{detail}}}"#
        )
    }

    #[test]
    fn every_detail_type_the_rule_sends_is_an_event() {
        for d in DETAIL_TYPES {
            let detail = if *d == "ACM Certificate Available" {
                r#"{"Action":"IMPORT","CertificateType":"IMPORTED"}"#
            } else {
                r#"{"DaysToExpiry":31,"CommonName":"auth.example.com"}"#
            };
            let e = parse(&event(d, detail)).unwrap();
            assert_eq!(e.detail_type, *d);
            assert_eq!(e.id, "e-1");
            assert_eq!(
                e.resources,
                ["arn:aws:acm:us-east-1:123456789012:certificate/abc"]
            );
        }
    }

    #[test]
    fn available_is_acted_on_for_each_listed_action_only() {
        for a in AVAILABLE_ACTIONS {
            let e = parse(&event(
                "ACM Certificate Available",
                &format!(r#"{{"Action":"{a}"}}"#),
            ))
            .unwrap();
            assert_eq!(e.action.as_deref(), Some(*a));
        }
        let other = parse(&event(
            "ACM Certificate Available",
            r#"{"Action":"DELETE"}"#,
        ));
        assert!(matches!(other, Err(NotAnEvent::Ignored(_, ref m)) if m.contains("DELETE")));
        let none = parse(&event("ACM Certificate Available", "{}"));
        assert!(matches!(none, Err(NotAnEvent::Ignored(_, ref m)) if m.contains("(none)")));
    }

    #[test]
    fn other_sources_and_detail_types_are_ignored_with_a_bounded_label() {
        let body = event("AWS API Call via CloudTrail", "{}");
        let parsed = parse(&body);
        assert_eq!(parsed.as_ref().unwrap_err().result(), "ignored");
        assert_eq!(label(&parsed), "other");
        let body = r#"{"source":"aws.ec2","detail-type":"ACM Certificate Expired","detail":{}}"#;
        let parsed = parse(body);
        assert!(matches!(parsed, Err(NotAnEvent::Ignored(_, ref m)) if m.contains("aws.ec2")));
        assert_eq!(label(&parsed), "other");
        // A known detail type with an action not acted on keeps its detail type.
        let body = event("ACM Certificate Available", r#"{"Action":"DELETE"}"#);
        assert_eq!(label(&parse(&body)), "ACM Certificate Available");
    }

    #[test]
    fn bodies_that_are_not_events_are_malformed() {
        for body in [
            "",
            "not json",
            "[1,2]",
            r#"{"source":"aws.acm"}"#,
            "{\"a\":",
        ] {
            let parsed = parse(body);
            assert_eq!(parsed.as_ref().unwrap_err().result(), "malformed", "{body}");
            assert_eq!(label(&parsed), "none");
        }
    }

    #[test]
    fn the_trigger_names_the_event_and_counts_the_rest() {
        let one = parse(&event(
            "ACM Certificate Available",
            r#"{"Action":"IMPORT"}"#,
        ))
        .unwrap();
        assert_eq!(
            one.to_string(),
            "ACM Certificate Available (IMPORT) for arn:aws:acm:us-east-1:123456789012:certificate/abc"
        );
        let expired = parse(&event("ACM Certificate Expired", "{}")).unwrap();
        assert_eq!(
            summary(&[one.clone(), expired.clone(), expired]),
            format!("{one} and 2 more event(s)")
        );
        assert_eq!(summary(&[]), "");
    }
}
