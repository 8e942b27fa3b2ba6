//! PURE: CloudWatch Embedded Metric Format records of a `once` pass, for ECS tasks that have
//! no scraper: with `--log-format json`, `once` prints them on stdout, one JSON object per
//! line, and CloudWatch Logs turns them into metrics (namespace `CognitoCertRotator` unless
//! `--emf-namespace`) that alarms can watch. One record per domain (dimension `Domain`) and
//! one for the whole pass (dimension `Service`).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::model::Certificate;
use crate::outcome::{Outcome, Verification};
use crate::planned::Planned;

/// The namespace when `--emf-namespace` is not given.
pub const DEFAULT_NAMESPACE: &str = "CognitoCertRotator";
/// The `Service` dimension's value of the pass record.
pub const SERVICE: &str = "cognito-cert-rotator";

/// A namespace CloudWatch would refuse: what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadNamespace(String);

/// Check a CloudWatch namespace (for `--emf-namespace`): 1 to 255 of letters, digits and
/// `.-_/#:` and spaces, not starting with `AWS/` (reserved for AWS's own metrics).
pub fn parse_namespace(text: &str) -> Result<String, BadNamespace> {
    let ok_chars = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c));
    if text.is_empty() || text.len() > 255 || !ok_chars {
        return Err(BadNamespace(format!(
            "\"{text}\": a CloudWatch namespace is 1 to 255 letters, digits, spaces and . - _ / # :"
        )));
    }
    if text.starts_with("AWS/") {
        return Err(BadNamespace(format!(
            "\"{text}\": namespaces starting with AWS/ are AWS's own"
        )));
    }
    Ok(text.to_string())
}

/// What one domain's pass counts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Counts {
    rotations: u32,
    failures: u32,
    verified: u32,
    verification_failed: u32,
}

fn counts(outcome: &Outcome) -> Counts {
    let verification = match outcome {
        Outcome::Swapped { verification, .. } | Outcome::Renewed { verification, .. } => {
            Some(verification)
        }
        _ => None,
    };
    Counts {
        rotations: u32::from(matches!(outcome, Outcome::Swapped { .. })),
        failures: u32::from(outcome.is_failure()),
        verified: u32::from(matches!(verification, Some(Verification::Verified(_)))),
        verification_failed: u32::from(matches!(verification, Some(Verification::Failed(_)))),
    }
}

/// Days until the certificate the domain is on after the pass expires: the new one after a
/// swap; after a swap whose verification failed, the sooner of the two (it may have been
/// rolled back).
fn days_left(planned: &Planned, outcome: &Outcome, now: DateTime<Utc>) -> Option<f64> {
    let days = |c: Option<&Certificate>| {
        c.and_then(|c| c.not_after)
            .map(|t| (t - now).num_seconds() as f64 / 86_400.0)
    };
    let current = days(planned.decision.current.as_ref());
    let candidate = days(planned.decision.candidate.as_ref());
    let rounded = |d: f64| (d * 100.0).round() / 100.0;
    match outcome {
        Outcome::Swapped {
            verification: Verification::Failed(_),
            ..
        } => match (current, candidate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
        Outcome::Swapped { .. } => candidate.or(current),
        _ => current,
    }
    .map(rounded)
}

fn record(
    namespace: &str,
    now: DateTime<Utc>,
    dimension: (&str, &str),
    values: Vec<(&str, &str, f64)>,
    extra: Vec<(&str, Value)>,
) -> Value {
    let metrics: Vec<Value> = values
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut out = Map::new();
    out.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[dimension.0]],
                "Metrics": metrics,
            }],
        }),
    );
    out.insert(dimension.0.into(), json!(dimension.1));
    for (name, _, value) in values {
        out.insert(name.into(), json!(value));
    }
    for (k, v) in extra {
        out.insert(k.into(), v);
    }
    Value::Object(out)
}

/// The records of a pass's results.
pub fn records(results: &[(Planned, Outcome)], namespace: &str, now: DateTime<Utc>) -> Vec<Value> {
    let mut out = Vec::with_capacity(results.len() + 1);
    let mut total = Counts::default();
    let mut min_days: Option<f64> = None;
    for (planned, outcome) in results {
        let c = counts(outcome);
        total.rotations += c.rotations;
        total.failures += c.failures;
        total.verified += c.verified;
        total.verification_failed += c.verification_failed;
        let days = days_left(planned, outcome, now);
        if let Some(d) = days {
            min_days = Some(min_days.map_or(d, |m| m.min(d)));
        }
        let mut values = Vec::with_capacity(5);
        if let Some(d) = days {
            values.push(("DaysLeft", "None", d));
        }
        values.extend(count_values(c));
        out.push(record(
            namespace,
            now,
            ("Domain", &planned.target.domain),
            values,
            vec![
                ("UserPoolId", json!(planned.target.consumer.user_pool_id())),
                ("Kind", json!(planned.target.kind().label())),
                ("Consumer", json!(planned.target.consumer_id())),
                ("Outcome", json!(outcome.label())),
            ],
        ));
    }
    let mut values = vec![("Targets", "Count", results.len() as f64)];
    if let Some(d) = min_days {
        values.push(("MinDaysLeft", "None", d));
    }
    values.extend(count_values(total));
    out.push(record(namespace, now, ("Service", SERVICE), values, vec![]));
    out
}

fn count_values(c: Counts) -> [(&'static str, &'static str, f64); 4] {
    [
        ("Rotations", "Count", f64::from(c.rotations)),
        ("Failures", "Count", f64::from(c.failures)),
        ("VerificationsSucceeded", "Count", f64::from(c.verified)),
        (
            "VerificationsFailed",
            "Count",
            f64::from(c.verification_failed),
        ),
    ]
}

#[cfg(test)]
mod tests;
