//! Messages and keys from plain data.

use super::*;
use crate::fixtures::{certificate, target};
use crate::select::{Action, Decision};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

const NOW: &str = "2026-12-01T12:00:00Z";

/// auth.example.com on a certificate expiring at `not_after`; `better` would replace it.
fn planned(not_after: &str, better: bool) -> Planned {
    let current = certificate(
        "arn:aws:acm:us-east-1:1:certificate/cur",
        at("2026-09-01T00:00:00Z"),
        at(not_after),
    );
    let candidate = better.then(|| {
        certificate(
            "arn:aws:acm:us-east-1:1:certificate/new",
            at("2026-11-30T00:00:00Z"),
            at("2027-03-01T00:00:00Z"),
        )
    });
    let mut decision = Decision::error(String::new());
    decision.action = if better { Action::Swap } else { Action::Keep };
    decision.current_arn = Some(current.arn.clone());
    decision.current = Some(current);
    decision.candidate = candidate;
    Planned {
        target: target("auth.example.com"),
        decision,
        error: None,
        domain: None,
        candidate_serial: None,
        managed_renewal: None,
    }
}

#[test]
fn expiring_is_sent_once_per_threshold_and_only_when_nothing_better_exists() {
    let now = at(NOW);
    // 25 days left: nothing yet.
    assert_eq!(expiring(&planned("2026-12-26T12:00:00Z", false), now), None);
    // 20 days: the 21-day notice; 6 days: the 7-day one (another key).
    let n21 = expiring(&planned("2026-12-21T12:00:00Z", false), now).unwrap();
    assert_eq!(
        n21.key,
        "expiring:arn:aws:acm:us-east-1:1:certificate/cur:21d"
    );
    assert_eq!(
        n21.reason,
        "the certificate auth.example.com serves has 20 day(s) left and no better certificate exists"
    );
    let n7 = expiring(&planned("2026-12-07T12:00:00Z", false), now).unwrap();
    assert_eq!(
        n7.key,
        "expiring:arn:aws:acm:us-east-1:1:certificate/cur:7d"
    );
    // A better certificate exists: it is swapped in instead; no notice.
    assert_eq!(expiring(&planned("2026-12-07T12:00:00Z", true), now), None);
}

#[test]
fn the_message_names_both_certificates_with_their_expiry_and_what_to_do() {
    let p = planned("2026-12-21T12:00:00Z", true);
    let n = Notice::about(
        Kind::Rotated,
        &p,
        "a later certificate".into(),
        "cur->new",
        at(NOW),
    );
    assert_eq!(n.key, "rotated:cur->new");
    let json = n.json();
    assert_eq!(json["event"], "rotated");
    assert_eq!(json["domain"], "auth.example.com");
    assert_eq!(json["user_pool_id"], "us-east-1_A");
    assert_eq!(json["account"], "default");
    assert_eq!(
        json["old_certificate"]["arn"],
        "arn:aws:acm:us-east-1:1:certificate/cur"
    );
    assert_eq!(json["old_certificate"]["not_after"], "2026-12-21T12:00:00Z");
    assert_eq!(json["new_certificate"]["not_after"], "2027-03-01T00:00:00Z");
    assert_eq!(json["reason"], "a later certificate");
    assert!(json["what_to_do"]
        .as_str()
        .unwrap()
        .contains("verifies the edge"));
    let slack = n.slack();
    assert_eq!(
        slack["text"],
        "auth.example.com: rotated — a later certificate"
    );
    let body = slack["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(
        body.contains("from: cur (expires 2026-12-21T12:00:00Z)"),
        "{body}"
    );
    assert!(
        body.contains("to: new (expires 2027-03-01T00:00:00Z)"),
        "{body}"
    );
}

#[test]
fn every_event_name_parses_back() {
    for kind in Kind::ALL {
        assert_eq!(Kind::parse(kind.name()), Some(kind));
        assert!(!what_to_do(kind, "a.example.com").is_empty());
    }
    assert_eq!(Kind::parse("exploded"), None);
}
