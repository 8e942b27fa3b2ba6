use chrono::TimeZone;

use super::*;
use crate::error::TargetError;
use crate::fixtures::target;
use crate::select::{Action, Decision};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn cert(arn: &str, days: i64) -> Certificate {
    let d = chrono::Duration::days;
    crate::fixtures::certificate(arn, now() - d(10), now() + d(days))
}

/// A domain on a certificate with `current` days left and a candidate with `candidate`.
fn planned(domain: &str, current: i64, candidate: Option<i64>) -> Planned {
    Planned {
        target: target(domain),
        decision: Decision {
            action: if candidate.is_some() {
                Action::Swap
            } else {
                Action::Keep
            },
            reason: String::new(),
            current: Some(cert("arn:old", current)),
            current_arn: Some("arn:old".into()),
            candidate: candidate.map(|d| cert("arn:new", d)),
            rejected: vec![],
            current_unusable: None,
            refused: None,
        },
        error: None,
        domain: None,
        candidate_serial: None,
        managed_renewal: None,
    }
}

fn rotated(verification: Verification) -> Outcome {
    Outcome::Swapped {
        from: Some("arn:old".into()),
        to: "arn:new".into(),
        verification,
    }
}

#[test]
fn each_domain_gets_a_record_with_its_days_left_and_counts() {
    let results = vec![
        (
            planned("a.example.com", 10, Some(90)),
            rotated(Verification::Verified("ok".into())),
        ),
        (
            planned("b.example.com", 40, None),
            Outcome::Kept("fine".into()),
        ),
    ];
    let records = records(&results, "Ns", now());
    assert_eq!(records.len(), 3);
    let a = &records[0];
    assert_eq!(
        a["_aws"],
        json!({
            "Timestamp": now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "Ns",
                "Dimensions": [["Domain"]],
                "Metrics": [
                    {"Name": "DaysLeft", "Unit": "None"},
                    {"Name": "Rotations", "Unit": "Count"},
                    {"Name": "Failures", "Unit": "Count"},
                    {"Name": "VerificationsSucceeded", "Unit": "Count"},
                    {"Name": "VerificationsFailed", "Unit": "Count"},
                ],
            }],
        })
    );
    assert_eq!(a["Domain"], "a.example.com");
    assert_eq!(a["UserPoolId"], "us-east-1_A");
    assert_eq!(a["Kind"], "cognito");
    assert_eq!(a["Consumer"], "us-east-1_A");
    assert_eq!(a["Outcome"], "rotated-verified");
    // After the swap the domain is on the new certificate.
    assert_eq!(a["DaysLeft"], 90.0);
    assert_eq!(a["Rotations"], 1.0);
    assert_eq!(a["VerificationsSucceeded"], 1.0);
    assert_eq!(a["Failures"], 0.0);
    let b = &records[1];
    assert_eq!(b["DaysLeft"], 40.0);
    assert_eq!(b["Rotations"], 0.0);
    let pass = &records[2];
    assert_eq!(pass["Service"], SERVICE);
    assert_eq!(
        pass["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Service"]])
    );
    assert_eq!(pass["Targets"], 2.0);
    assert_eq!(pass["MinDaysLeft"], 40.0);
    assert_eq!(pass["Rotations"], 1.0);
    // Every metric a record declares is a value of that record, and the other way round.
    for r in &records {
        for m in r["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            assert!(r[m["Name"].as_str().unwrap()].is_number(), "{r}");
        }
    }
}

#[test]
fn a_failed_verification_counts_a_failure_and_the_sooner_expiry() {
    let results = vec![(
        planned("a.example.com", 5, Some(90)),
        rotated(Verification::Failed("edge".into())),
    )];
    let r = &records(&results, DEFAULT_NAMESPACE, now())[0];
    assert_eq!(r["Failures"], 1.0);
    assert_eq!(r["VerificationsFailed"], 1.0);
    assert_eq!(r["VerificationsSucceeded"], 0.0);
    assert_eq!(r["DaysLeft"], 5.0);
}

#[test]
fn a_target_that_could_not_be_read_has_no_days_left_but_counts_its_failure() {
    let failed = Planned::failed(
        target("a.example.com"),
        TargetError::Selection(no_eligible()),
    );
    let outcome = Outcome::Failed(TargetError::Selection(no_eligible()));
    let records = records(&[(failed, outcome)], DEFAULT_NAMESPACE, now());
    let r = &records[0];
    assert!(r.get("DaysLeft").is_none());
    let declared: Vec<&str> = r["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert!(!declared.contains(&"DaysLeft"), "{declared:?}");
    assert_eq!(r["Failures"], 1.0);
    assert!(records[1].get("MinDaysLeft").is_none());
    assert_eq!(records[1]["Failures"], 1.0);
}

#[test]
fn days_left_are_rounded_to_hundredths() {
    let mut p = planned("a.example.com", 0, None);
    p.decision.current.as_mut().unwrap().not_after = Some(now() + chrono::Duration::hours(36));
    let r = &records(
        &[(p, Outcome::Kept(String::new()))],
        DEFAULT_NAMESPACE,
        now(),
    )[0];
    assert_eq!(r["DaysLeft"], 1.5);
}

#[test]
fn namespaces_follow_cloudwatch_rules() {
    assert_eq!(parse_namespace("Team/Certs-1").unwrap(), "Team/Certs-1");
    assert!(parse_namespace(DEFAULT_NAMESPACE).is_ok());
    for bad in ["", "AWS/Rotator", "emoji\u{1f510}", &"x".repeat(256)] {
        assert!(parse_namespace(bad).is_err(), "{bad}");
    }
}

fn no_eligible() -> crate::select::Refusal {
    crate::select::Refusal::NoEligible {
        domain: "auth.example.com".into(),
        current: None,
    }
}
