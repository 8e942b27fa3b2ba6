//! Windows and freezes at chosen instants: no clock is read, every `now` is given.

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn window(start: &str, hours: u64, tz: Tz) -> Window {
    Window {
        start: start.to_string(),
        duration: Duration::from_secs(hours * 3600),
        timezone: tz,
    }
}

fn only(w: Window) -> ChangePolicy {
    ChangePolicy {
        windows: vec![w],
        ..ChangePolicy::default()
    }
}

fn cert(status: &'static str, not_after: &str) -> Certificate {
    Certificate {
        arn: "arn:aws:acm:us-east-1:1:certificate/current".into(),
        domain_name: "auth.example.com".into(),
        sans: vec![],
        sans_complete: true,
        status: status.into(),
        cert_type: "IMPORTED".into(),
        key_algorithm: "EC_prime256v1".into(),
        not_before: None,
        not_after: Some(at(not_after)),
        issued_at: None,
        tags: None,
    }
}

#[test]
fn a_window_across_midnight_is_open_until_its_duration_ends() {
    // 22:00 Monday to Thursday, four hours: into the next morning.
    let w = window("0 0 22 * * Mon-Thu", 4, Tz::UTC);
    assert!(!w.contains(at("2026-11-30T21:59:59Z"))); // Monday, before
    assert!(w.contains(at("2026-11-30T22:00:00Z")));
    assert!(w.contains(at("2026-12-01T01:59:59Z"))); // Tuesday morning, same window
    assert!(!w.contains(at("2026-12-01T02:00:00Z")));
    assert!(w.contains(at("2026-12-04T01:00:00Z"))); // Friday morning: Thursday's window
    assert!(!w.contains(at("2026-12-05T23:00:00Z"))); // Saturday: none
    assert_eq!(
        w.next_opening(at("2026-12-04T03:00:00Z")),
        Some(at("2026-12-07T22:00:00Z"))
    );
}

#[test]
fn a_window_follows_its_time_zone_across_a_daylight_saving_change() {
    let berlin = chrono_tz::Europe::Berlin;
    // 22:00 in Berlin is 20:00Z in summer time and 21:00Z after the change (25 Oct 2026).
    let w = window("0 0 22 * * *", 4, berlin);
    assert_eq!(
        w.next_opening(at("2026-10-24T12:00:00Z")),
        Some(at("2026-10-24T20:00:00Z"))
    );
    assert_eq!(
        w.next_opening(at("2026-10-25T12:00:00Z")),
        Some(at("2026-10-25T21:00:00Z"))
    );
    assert!(!w.contains(at("2026-10-25T20:30:00Z")));
    assert!(w.contains(at("2026-10-25T21:30:00Z")));
    // A window open during the change lasts its duration in absolute time: 01:00 CEST
    // (23:00Z) plus two hours is 01:00Z, though the wall clock only moved one hour.
    let night = window("0 0 1 * * *", 2, berlin);
    assert!(night.contains(at("2026-10-25T00:59:59Z")));
    assert!(!night.contains(at("2026-10-25T01:00:00Z")));
}

#[test]
fn a_freeze_inside_a_window_defers_to_its_end_or_the_next_window() {
    let mut policy = only(window("0 0 22 * * *", 4, Tz::UTC));
    policy.freezes.push(Freeze {
        from: at("2026-11-26T00:00:00Z"),
        to: at("2026-12-01T00:00:00Z"),
        reason: "peak season".into(),
    });
    let fresh = cert("ISSUED", "2027-03-01T00:00:00Z");
    // In the window but frozen: deferred until the freeze ends, still inside that window.
    let now = at("2026-11-30T23:00:00Z");
    let Permit::Deferred(d) = policy.permit(Some(&fresh), now) else {
        panic!("{:?}", policy.permit(Some(&fresh), now))
    };
    assert_eq!(d.label(), "freeze");
    assert_eq!(d.next, Some(at("2026-12-01T00:00:00Z")));
    assert_eq!(
        d.sentence(),
        "deferred: inside the change freeze until 2026-12-01T00:00:00Z (peak season); the next swap may be made at 2026-12-01T00:00:00Z"
    );
    // A freeze ending outside every window: the next window's opening.
    policy.freezes[0].to = at("2026-12-01T03:00:00Z");
    assert_eq!(policy.next_allowed(now), Some(at("2026-12-01T22:00:00Z")));
    // Outside the window, no freeze: the window's sentence.
    let Permit::Deferred(d) = policy.permit(Some(&fresh), at("2026-12-02T12:00:00Z")) else {
        panic!()
    };
    assert_eq!(d.label(), "window");
    assert_eq!(
        d.sentence(),
        "deferred: outside the change window; the next one opens at 2026-12-02T22:00:00Z"
    );
    assert_eq!(
        policy.permit(Some(&fresh), at("2026-12-02T22:30:00Z")),
        Permit::Open
    );
}

#[test]
fn a_certificate_that_cannot_wait_is_swapped_despite_the_rules() {
    let mut policy = only(window("0 0 22 * * *", 4, Tz::UTC));
    policy.freezes.push(Freeze {
        from: at("2026-11-26T00:00:00Z"),
        to: at("2026-12-31T00:00:00Z"),
        reason: "peak season".into(),
    });
    let now = at("2026-12-02T12:00:00Z");
    let soon = cert("ISSUED", "2026-12-05T12:00:00Z");
    assert_eq!(
        policy.permit(Some(&soon), now),
        Permit::Urgent(
            "swapping despite the change freeze (peak season): the current certificate expires in 3d, less than urgent_within 7d".into()
        )
    );
    let revoked = cert("REVOKED", "2027-05-01T00:00:00Z");
    assert!(
        matches!(policy.permit(Some(&revoked), now), Permit::Urgent(w) if w.contains("is REVOKED"))
    );
    assert!(
        matches!(policy.permit(None, now), Permit::Urgent(w) if w.contains("no longer in ACM"))
    );
    // Eight days left is not urgent with the default seven.
    let later = cert("ISSUED", "2026-12-10T12:00:00Z");
    assert!(matches!(
        policy.permit(Some(&later), now),
        Permit::Deferred(_)
    ));
}

#[test]
fn without_rules_a_swap_may_always_be_made() {
    let policy = ChangePolicy::default();
    assert!(!policy.restricts());
    assert_eq!(
        policy.permit(None, at("2026-12-02T12:00:00Z")),
        Permit::Open
    );
    assert_eq!(
        policy.next_allowed(at("2026-12-02T12:00:00Z")),
        Some(at("2026-12-02T12:00:00Z"))
    );
}

#[test]
fn a_window_whose_opening_time_does_not_exist_that_day_still_opens() {
    // 02:30 does not exist in Berlin on 28 March 2027 (clocks jump from 02:00 to 03:00).
    let w = window("0 30 2 * * *", 1, chrono_tz::Europe::Berlin);
    // It opens at the first instant after the gap, 03:00 CEST.
    assert_eq!(
        w.next_opening(at("2027-03-27T12:00:00Z")),
        Some(at("2027-03-28T01:00:00Z"))
    );
}
