use super::*;
use std::time::Duration;

use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 10, 12, 0, 0).unwrap()
}

const WEEK: Settings = Settings {
    after: Duration::from_secs(7 * 86_400),
    action: Action::Delete,
};

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn decide_with(in_use_by: &[String], tags: &BTreeMap<String, String>, newest: bool) -> Step {
    decide(
        &Candidate {
            in_use_by,
            tags,
            newest_for_its_name: newest,
        },
        &WEEK,
        now(),
    )
}

#[test]
fn a_certificate_something_uses_is_never_retired() {
    let used = ["arn:aws:cloudfront::1:distribution/E1".to_string()];
    let step = decide_with(&used, &tags(&[]), false);
    assert!(
        matches!(step, Step::Keep(ref why) if why.contains("distribution/E1")),
        "{step:?}"
    );
    // Even long marked unused: in use again clears the mark, it does not retire.
    let marked = tags(&[(UNUSED_SINCE_TAG, "2026-01-01T00:00:00Z")]);
    assert_eq!(decide_with(&used, &marked, false), Step::ClearMark);
}

#[test]
fn unused_is_marked_first_then_waits_then_retires() {
    assert_eq!(decide_with(&[], &tags(&[]), false), Step::MarkUnused);
    let recent = tags(&[(UNUSED_SINCE_TAG, "2026-12-08T12:00:00Z")]);
    assert_eq!(
        decide_with(&[], &recent, false),
        Step::Wait {
            since: Utc.with_ymd_and_hms(2026, 12, 8, 12, 0, 0).unwrap(),
            at: Utc.with_ymd_and_hms(2026, 12, 15, 12, 0, 0).unwrap(),
        }
    );
    let long = tags(&[(UNUSED_SINCE_TAG, "2026-12-03T12:00:00Z")]);
    assert_eq!(decide_with(&[], &long, false), Step::Retire(Action::Delete));
}

#[test]
fn the_newest_for_its_name_and_a_retired_one_are_left_alone() {
    let long = tags(&[(UNUSED_SINCE_TAG, "2026-01-01T00:00:00Z")]);
    assert!(matches!(decide_with(&[], &long, true), Step::Keep(_)));
    let retired = tags(&[(RETIRED_TAG, "2026-12-01")]);
    assert!(
        matches!(decide_with(&[], &retired, false), Step::Keep(ref why) if why.contains("already"))
    );
}

#[test]
fn an_unreadable_mark_is_made_again_rather_than_trusted() {
    let garbled = tags(&[(UNUSED_SINCE_TAG, "last tuesday")]);
    assert_eq!(decide_with(&[], &garbled, false), Step::MarkUnused);
}

#[test]
fn every_step_says_a_sentence() {
    for step in [
        Step::Keep("in use".into()),
        Step::MarkUnused,
        Step::ClearMark,
        Step::Wait {
            since: now(),
            at: now(),
        },
        Step::Retire(Action::Tag),
    ] {
        assert!(!step.sentence(&WEEK).is_empty());
    }
}
