//! Every rule of `next_step`, `backoff`, `count_pass` and `gates`, over plain data.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::TimeZone;

use super::*;
use crate::aws::AwsError;
use crate::config::Target;
use crate::model::Certificate;
use crate::select::{Action, Decision};
use crate::state::{Phase, RolloutRecord};

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, h, 0, 0).unwrap()
}

fn target(domain: &str) -> Target {
    Target {
        domain: domain.into(),
        consumer: crate::model::Consumer::UserPool {
            id: "us-east-1_A".into(),
        },
        region: "us-east-1".into(),
        min_validity: crate::model::MinValidity::Duration(Duration::from_secs(30 * 86_400)),
        require_tags: BTreeMap::new(),
        role: None,
        policy: Default::default(),
        discovered: None,
        source: "config.yaml:1".into(),
    }
}

fn cert(arn: &str) -> Certificate {
    crate::fixtures::certificate(arn, at(0), at(0) + chrono::Duration::days(90))
}

fn serial() -> Serial {
    Serial::parse("0a:1b:2c").unwrap()
}

/// A target whose decision is `action`, moving from arn:old to arn:new when rotating.
fn planned(domain: &str, action: Action) -> Planned {
    Planned {
        target: target(domain),
        decision: Decision {
            action,
            reason: format!("{action} because"),
            current: Some(cert("arn:old")),
            current_arn: Some("arn:old".into()),
            candidate: (action == Action::Swap).then(|| cert("arn:new")),
            rejected: vec![],
            current_unusable: None,
            refused: (action == Action::Error).then(|| crate::select::Refusal::NoEligible {
                domain: domain.into(),
                current: None,
            }),
        },
        error: None,
        domain: None,
        candidate_serial: (action == Action::Swap).then(serial),
        managed_renewal: None,
    }
}

fn pending(to: &str) -> PendingSwap {
    PendingSwap {
        phase: Phase::Swapped,
        consumer: "us-east-1_A".into(),
        old_arn: Some("arn:old".into()),
        new_arn: to.into(),
        new_serial: Some("0a:1b:2c".into()),
        recorded_at: at(1),
        swapped_at: Some(at(1)),
        deadline: at(2),
        rollback_reason: None,
        renewal: false,
        expiry: Default::default(),
    }
}

fn throttled() -> TargetError {
    TargetError::aws(
        "cannot read the domain",
        AwsError::Service {
            operation: "DescribeUserPoolDomain",
            code: "TooManyRequestsException".into(),
            message: "slow down".into(),
        },
    )
}

const ALL_MODES: [Mode; 4] = [Mode::DryRun, Mode::Once, Mode::Daemon, Mode::Event];

#[test]
fn rotate_with_a_serial_swaps_in_writing_modes() {
    for mode in [Mode::Once, Mode::Daemon, Mode::Event] {
        let step = next_step(
            &planned("a.example.com", Action::Swap),
            None,
            None,
            None,
            mode,
        );
        assert_eq!(
            step,
            Step::Swap(SwapOrder {
                to: "arn:new".into(),
                serial: serial(),
                canary: false
            })
        );
    }
}

#[test]
fn dry_run_never_swaps_and_says_what_it_would_do() {
    let p = planned("a.example.com", Action::Swap);
    assert_eq!(
        next_step(&p, None, None, Some(&Gate::Go), Mode::DryRun),
        Step::WouldSwap {
            why: "rotate because".into()
        }
    );
    assert_eq!(
        next_step(&p, None, None, Some(&Gate::Canary), Mode::DryRun),
        Step::WouldSwap {
            why: "rotate because (canary)".into()
        }
    );
}

#[test]
fn a_canary_gate_marks_the_swap_as_canary() {
    let step = next_step(
        &planned("a.example.com", Action::Swap),
        None,
        None,
        Some(&Gate::Canary),
        Mode::Once,
    );
    assert!(
        matches!(step, Step::Swap(SwapOrder { canary: true, .. })),
        "{step:?}"
    );
}

#[test]
fn held_and_blocked_gates_stop_the_swap_in_every_mode() {
    let p = planned("a.example.com", Action::Swap);
    for mode in ALL_MODES {
        assert_eq!(
            next_step(&p, None, None, Some(&Gate::Hold("waiting".into())), mode),
            Step::Hold {
                why: "waiting".into()
            }
        );
        assert_eq!(
            next_step(
                &p,
                None,
                None,
                Some(&Gate::Blocked("canary failed".into())),
                mode
            ),
            Step::Blocked {
                why: "canary failed".into()
            }
        );
    }
}

#[test]
fn keep_is_kept_whatever_the_gate() {
    let p = planned("a.example.com", Action::Keep);
    for mode in ALL_MODES {
        for gate in [None, Some(Gate::Go), Some(Gate::Hold("x".into()))] {
            assert_eq!(
                next_step(&p, None, None, gate.as_ref(), mode),
                Step::Keep {
                    why: "keep because".into()
                }
            );
        }
    }
}

#[test]
fn a_swap_in_flight_is_left_to_its_verification() {
    let in_flight = pending("arn:new");
    for action in [Action::Swap, Action::Keep] {
        let step = next_step(
            &planned("a.example.com", action),
            Some(&in_flight),
            None,
            None,
            Mode::Once,
        );
        assert_eq!(
            step,
            Step::Verify {
                to: "arn:new".into(),
                deadline: at(2)
            }
        );
    }
}

#[test]
fn an_observation_error_fails_before_anything_else() {
    let mut p = planned("a.example.com", Action::Swap);
    p.error = Some(throttled());
    // Even with a swap in flight and a go gate: the error is what the user must see.
    let step = next_step(
        &p,
        Some(&pending("arn:new")),
        None,
        Some(&Gate::Go),
        Mode::Daemon,
    );
    assert_eq!(step, Step::Fail { error: throttled() });
}

#[test]
fn a_selection_error_fails_as_selection() {
    let mut p = planned("a.example.com", Action::Error);
    let Step::Fail { error } = next_step(&p, None, None, None, Mode::Once) else {
        panic!("expected a failure")
    };
    assert_eq!(error.metric_label(), "selection");
    assert_eq!(
        error.to_string(),
        "no eligible certificate covers a.example.com"
    );
    // Skipped in this pass: not observed, said so.
    p.decision.refused = None;
    let Step::Fail { error } = next_step(&p, None, None, None, Mode::Once) else {
        panic!("expected a failure")
    };
    assert_eq!(error.to_string(), "not observed in this pass");
}

#[test]
fn no_write_for_a_candidate_without_a_readable_serial() {
    let mut p = planned("a.example.com", Action::Swap);
    p.candidate_serial = None;
    for mode in [Mode::Once, Mode::Daemon] {
        let Step::Fail { error } = next_step(&p, None, None, Some(&Gate::Go), mode) else {
            panic!("expected a failure in {mode:?}")
        };
        assert_eq!(error.metric_label(), "candidate");
        assert!(error.to_string().contains("no readable serial"), "{error}");
    }
    // A dry run swaps nothing, so it reads no serial and still says what it would do.
    assert!(matches!(
        next_step(&p, None, None, Some(&Gate::Go), Mode::DryRun),
        Step::WouldSwap { .. }
    ));
}

#[test]
fn next_reports_every_step_but_swap_as_its_outcome() {
    assert_eq!(
        Step::Keep { why: "k".into() }.next(),
        Next::Report(Outcome::Kept("k".into()))
    );
    assert_eq!(
        Step::WouldSwap { why: "w".into() }.next(),
        Next::Report(Outcome::WouldSwap("w".into()))
    );
    assert_eq!(
        Step::Hold { why: "h".into() }.next(),
        Next::Report(Outcome::Held("h".into()))
    );
    assert_eq!(
        Step::Blocked { why: "b".into() }.next(),
        Next::Report(Outcome::Blocked("b".into()))
    );
    assert_eq!(
        Step::Verify {
            to: "arn:new".into(),
            deadline: at(2)
        }
        .next(),
        Next::Report(Outcome::Verifying {
            to: "arn:new".into(),
            deadline: at(2)
        })
    );
    assert_eq!(
        Step::Fail { error: throttled() }.next(),
        Next::Report(Outcome::Failed(throttled()))
    );
    let order = SwapOrder {
        to: "arn:new".into(),
        serial: serial(),
        canary: false,
    };
    assert_eq!(
        Step::Swap(order.clone()).next(),
        Next::Act(Act::Swap(order))
    );
}

fn failing(failures: u32, skip_passes: u32) -> DomainRecord {
    DomainRecord {
        failures,
        skip_passes,
        last_error: Some("boom".into()),
        ..DomainRecord::default()
    }
}

#[test]
fn only_the_daemon_backs_off_and_only_while_passes_remain_to_skip() {
    let r = failing(3, 2);
    assert_eq!(
        backoff(Some(&r), Mode::Daemon),
        Some(Outcome::BackingOff(
            "skipped after 3 failed pass(es) in a row; next try in 2 pass(es). Last error: boom"
                .into()
        ))
    );
    assert_eq!(backoff(Some(&r), Mode::Once), None);
    assert_eq!(backoff(Some(&r), Mode::DryRun), None);
    // A pass an ACM event asked for tries every target: the event may be the fix.
    assert_eq!(backoff(Some(&r), Mode::Event), None);
    assert_eq!(backoff(Some(&failing(1, 0)), Mode::Daemon), None);
    assert_eq!(backoff(None, Mode::Daemon), None);
}

#[test]
fn event_passes_still_count_failures_and_verify_in_the_background() {
    assert!(Mode::Event.counts_failures() && Mode::Daemon.counts_failures());
    assert!(!Mode::Once.counts_failures() && !Mode::DryRun.counts_failures());
    assert!(Mode::Event.verifies_in_background() && Mode::Daemon.verifies_in_background());
    assert!(!Mode::Once.verifies_in_background());
    assert!(Mode::Event.writes());
}

#[test]
fn backoff_doubles_and_is_capped() {
    let waits: Vec<u32> = (1..=8).map(skip_after).collect();
    // Passes skipped: wait 1 (next pass), 2, 4, 8, 16, 32, 32, 32.
    assert_eq!(waits, [0, 1, 3, 7, 15, 31, 31, 31]);
    assert_eq!(skip_after(200), MAX_BACKOFF_PASSES - 1);
}

#[test]
fn a_failure_counts_a_skip_counts_down_and_anything_else_clears() {
    let mut r = DomainRecord::default();
    count_pass(&mut r, &Outcome::Failed(throttled()));
    count_pass(&mut r, &Outcome::Failed(throttled()));
    assert_eq!((r.failures, r.skip_passes), (2, 1));
    assert_eq!(
        r.last_error.as_deref(),
        Some(throttled().to_string().as_str())
    );
    count_pass(&mut r, &Outcome::BackingOff("skipped".into()));
    assert_eq!((r.failures, r.skip_passes), (2, 0));
    count_pass(&mut r, &Outcome::Kept("fine".into()));
    assert_eq!((r.failures, r.skip_passes, r.last_error), (0, 0, None));
}

fn rollout(canary_count: usize) -> Rollout {
    Rollout {
        canary: vec![],
        canary_count,
    }
}

#[test]
fn gates_group_by_serial_and_skip_targets_in_flight_or_failing() {
    let one = planned("one.example.com", Action::Swap);
    let two = planned("two.example.com", Action::Swap);
    let three = planned("three.example.com", Action::Swap);
    let mut broken = planned("four.example.com", Action::Swap);
    broken.error = Some(throttled());
    let keep = planned("five.example.com", Action::Keep);
    let mut state = State::default();
    state
        .domains
        .entry("three.example.com".into())
        .or_default()
        .pending = Some(pending("arn:new"));
    let gating = gates(&rollout(1), &[one, two, three, broken, keep], &state, at(3));
    // One and two want the same certificate (same serial): one is the canary, two waits.
    assert_eq!(gating.gates.get("one.example.com"), Some(&Gate::Canary));
    assert!(matches!(
        gating.gates.get("two.example.com"),
        Some(Gate::Hold(_))
    ));
    for left_out in ["three.example.com", "four.example.com", "five.example.com"] {
        assert_eq!(gating.gates.get(left_out), None, "{left_out}");
    }
    let record: &RolloutRecord = gating.records["serial 0a:1b:2c"].as_ref().unwrap();
    assert_eq!(
        record.canaries.keys().collect::<Vec<_>>(),
        ["one.example.com"]
    );
    assert_eq!(record.started_at, at(3));
}

#[test]
fn without_rollout_every_wanting_target_goes() {
    let gating = gates(
        &Rollout::default(),
        &[
            planned("one.example.com", Action::Swap),
            planned("two.example.com", Action::Swap),
        ],
        &State::default(),
        at(3),
    );
    assert_eq!(gating.gates.get("one.example.com"), Some(&Gate::Go));
    assert_eq!(gating.gates.get("two.example.com"), Some(&Gate::Go));
    assert!(gating.records.is_empty());
}

// ---- in-place renewals ------------------------------------------------------------------------

fn seen(arn: &str, days: i64) -> SeenCertificate {
    SeenCertificate {
        arn: arn.into(),
        not_before: Some(at(0)),
        not_after: Some(at(0) + chrono::Duration::days(days)),
    }
}

#[test]
fn a_certificate_seen_for_the_first_time_or_under_another_arn_is_remembered_not_verified() {
    let current = cert("arn:old");
    assert_eq!(
        version_change(Some(&current), None),
        Version::New(SeenCertificate::of(&current))
    );
    assert_eq!(
        version_change(Some(&current), Some(&seen("arn:other", 90))),
        Version::New(SeenCertificate::of(&current))
    );
    assert_eq!(
        version_change(Some(&current), Some(&seen("arn:old", 90))),
        Version::Unchanged
    );
    assert_eq!(
        version_change(None, Some(&seen("arn:old", 90))),
        Version::Unchanged
    );
    let p = planned("a.example.com", Action::Keep);
    assert!(matches!(
        next_step(&p, None, None, None, Mode::Once),
        Step::Keep { .. }
    ));
}

#[test]
fn the_same_arn_with_new_dates_is_a_renewal_verified_without_a_write() {
    // The domain's certificate (90 days from at(0)) was last seen expiring after 30 days.
    let p = planned("a.example.com", Action::Keep);
    let was = seen("arn:old", 30);
    for mode in [Mode::Once, Mode::Daemon] {
        assert_eq!(
            next_step(&p, None, Some(&was), None, mode),
            Step::VerifyRenewal {
                was: was.clone(),
                now: seen("arn:old", 90),
            },
            "{mode:?}"
        );
    }
    let Step::WouldVerifyRenewal { why } = next_step(&p, None, Some(&was), None, Mode::DryRun)
    else {
        panic!("a dry run only says it would verify")
    };
    assert!(why.contains("renewed in place"), "{why}");
    assert!(matches!(
        Step::VerifyRenewal {
            was: was.clone(),
            now: seen("arn:old", 90)
        }
        .next(),
        Next::Act(Act::Renewal { .. })
    ));
}

#[test]
fn a_swap_or_a_swap_in_flight_wins_over_verifying_a_renewal() {
    let was = seen("arn:old", 30);
    let rotating = planned("a.example.com", Action::Swap);
    assert!(matches!(
        next_step(&rotating, None, Some(&was), Some(&Gate::Go), Mode::Once),
        Step::Swap(_)
    ));
    let keeping = planned("a.example.com", Action::Keep);
    assert!(matches!(
        next_step(
            &keeping,
            Some(&pending("arn:new")),
            Some(&was),
            None,
            Mode::Once
        ),
        Step::Verify { .. }
    ));
}
