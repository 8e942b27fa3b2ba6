//! The external-change rule: Terraform putting the old certificate back is held; a hand move
//! onto a better certificate is not an external change; an unusable one is swapped anyway.

use chrono::{Duration, TimeZone};

use super::*;
use crate::fixtures::{certificate, target};
use crate::select::Decision;
use crate::state::records::{FinishedSwap, PendingSwap, Phase, SeenCertificate};

fn at(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + Duration::days(days)
}

/// The domain found on `found` (expiring in `found_days`), the decision wanting `candidate`.
fn planned(found: &str, found_days: i64, candidate: &str, unusable: Option<&str>) -> Planned {
    Planned {
        target: target("auth.example.com"),
        decision: Decision {
            action: Action::Swap,
            reason: "later".into(),
            current: Some(certificate(found, at(-10), at(found_days))),
            current_arn: Some(found.into()),
            candidate: Some(certificate(candidate, at(-1), at(120))),
            rejected: vec![],
            current_unusable: unusable.map(str::to_string),
            refused: None,
        },
        error: None,
        domain: None,
        candidate_serial: None,
        managed_renewal: None,
    }
}

/// The rotator's last verified swap put the domain on `ours` (expiring in 90 days).
fn record(ours: &str) -> DomainRecord {
    DomainRecord {
        last: Some(FinishedSwap {
            old_arn: Some("arn:a".into()),
            new_arn: ours.into(),
            swapped_at: Some(at(-2)),
            finished_at: at(-2),
            result: SwapResult::Verified,
            detail: "verified".into(),
            renewal: false,
        }),
        seen: Some(SeenCertificate {
            arn: ours.into(),
            not_before: Some(at(-3)),
            not_after: Some(at(90)),
        }),
        ..DomainRecord::default()
    }
}

#[test]
fn terraform_putting_the_old_certificate_back_is_held_once_found() {
    let moved = external_change(
        &planned("arn:a", 20, "arn:b", None),
        Some(&record("arn:b")),
        at(0),
    );
    let Moved::Hold { change, new, why } = moved else {
        panic!("{moved:?}")
    };
    assert!(new);
    assert_eq!(
        (change.ours.as_str(), change.found.as_str()),
        ("arn:b", "arn:a")
    );
    assert!(why.contains("forget auth.example.com"), "{why}");
}

#[test]
fn a_held_domain_stays_held_and_is_not_reported_again() {
    let mut r = record("arn:b");
    r.seen = None;
    r.external = Some(ExternalChange {
        ours: "arn:b".into(),
        found: "arn:a".into(),
        since: at(-1),
    });
    let moved = external_change(&planned("arn:a", 20, "arn:b", None), Some(&r), at(0));
    assert!(matches!(moved, Moved::Hold { new: false, .. }), "{moved:?}");
}

#[test]
fn a_hand_move_onto_a_better_certificate_is_not_an_external_change() {
    // Moved by hand onto arn:e (expires after ours), and now an even newer one arrives.
    let moved = external_change(
        &planned("arn:e", 100, "arn:f", None),
        Some(&record("arn:b")),
        at(0),
    );
    assert_eq!(moved, Moved::No);
}

#[test]
fn moved_onto_an_unusable_certificate_is_swapped_anyway_and_says_why() {
    let moved = external_change(
        &planned("arn:a", 5, "arn:b", Some("expires within min_validity")),
        Some(&record("arn:b")),
        at(0),
    );
    let Moved::SwapAnyway { why } = moved else {
        panic!("{moved:?}")
    };
    assert!(
        why.contains("no longer usable (expires within min_validity)"),
        "{why}"
    );
}

#[test]
fn no_hold_without_a_verified_swap_of_ours_or_with_a_swap_in_flight() {
    let p = planned("arn:a", 20, "arn:b", None);
    assert_eq!(external_change(&p, None, at(0)), Moved::No);
    let mut failed = record("arn:b");
    if let Some(last) = failed.last.as_mut() {
        last.result = SwapResult::Failed;
    }
    assert_eq!(external_change(&p, Some(&failed), at(0)), Moved::No);
    let mut flying = record("arn:b");
    flying.pending = Some(PendingSwap {
        phase: Phase::Swapped,
        consumer: "eu-west-1_x".into(),
        old_arn: Some("arn:a".into()),
        new_arn: "arn:b".into(),
        new_serial: None,
        recorded_at: at(0),
        swapped_at: Some(at(0)),
        deadline: at(1),
        rollback_reason: None,
        renewal: false,
        expiry: Default::default(),
    });
    assert_eq!(external_change(&p, Some(&flying), at(0)), Moved::No);
    // Still on ours: nothing moved.
    assert_eq!(
        external_change(
            &planned("arn:b", 90, "arn:c", None),
            Some(&record("arn:b")),
            at(0)
        ),
        Moved::No
    );
}

#[test]
fn without_the_seen_version_the_decision_moving_it_back_to_ours_tells() {
    let mut r = record("arn:b");
    r.seen = None;
    assert!(matches!(
        external_change(&planned("arn:a", 20, "arn:b", None), Some(&r), at(0)),
        Moved::Hold { new: true, .. }
    ));
    assert_eq!(
        external_change(&planned("arn:a", 20, "arn:c", None), Some(&r), at(0)),
        Moved::No
    );
}

#[test]
fn forget_hands_the_domain_over_so_the_rotator_may_swap_again() {
    let mut state = crate::state::records::State::default();
    let mut r = record("arn:b");
    r.external = Some(ExternalChange {
        ours: "arn:b".into(),
        found: "arn:a".into(),
        since: at(-1),
    });
    state.domains.insert("auth.example.com".into(), r);
    let said = crate::state::records::forget(&mut state, "auth.example.com");
    assert!(said.contains("external change"), "{said}");
    let after = state.domains.get("auth.example.com");
    assert_eq!(
        external_change(&planned("arn:a", 20, "arn:b", None), after, at(0)),
        Moved::No
    );
}
