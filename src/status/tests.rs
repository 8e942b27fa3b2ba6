//! The health rule behind `status`'s exit code.

use super::*;

#[test]
fn nothing_wrong_is_healthy() {
    assert_eq!(problem(&Signals::default()), None);
}

#[test]
fn each_signal_alone_is_a_problem_that_says_why() {
    let cases = [
        Signals {
            decision_error: Some("no eligible certificate"),
            ..Signals::default()
        },
        Signals {
            blocked: Some("canary failed"),
            ..Signals::default()
        },
        Signals {
            external_change: Some("external change: moved"),
            ..Signals::default()
        },
        Signals {
            verification_failed: Some("failed: not verified"),
            ..Signals::default()
        },
        Signals {
            renewal_action: Some("ACM's managed renewal is FAILED"),
            ..Signals::default()
        },
    ];
    let said: Vec<Option<String>> = cases.iter().map(problem).collect();
    assert_eq!(
        said,
        [
            Some("no eligible certificate".to_string()),
            Some("canary failed".to_string()),
            Some("external change: moved".to_string()),
            Some("failed: not verified".to_string()),
            Some("ACM's managed renewal is FAILED".to_string()),
        ]
    );
    assert_eq!(
        problem(&Signals {
            expiring_within: Some("30d"),
            ..Signals::default()
        })
        .as_deref(),
        Some("the current certificate expires within its min_validity (30d)")
    );
}

#[test]
fn the_most_urgent_signal_is_the_one_reported() {
    let all = Signals {
        decision_error: Some("decision"),
        external_change: Some("external"),
        blocked: Some("blocked"),
        verification_failed: Some("verification"),
        renewal_action: Some("renewal"),
        expiring_within: Some("30d"),
    };
    assert_eq!(problem(&all).as_deref(), Some("decision"));
    let no_decision = Signals {
        decision_error: None,
        ..all
    };
    assert_eq!(problem(&no_decision).as_deref(), Some("external"));
    let no_external = Signals {
        external_change: None,
        ..no_decision
    };
    assert_eq!(problem(&no_external).as_deref(), Some("blocked"));
    let only_late = Signals {
        expiring_within: Some("30d"),
        renewal_action: Some("renewal"),
        ..Signals::default()
    };
    assert_eq!(problem(&only_late).as_deref(), Some("renewal"));
}
