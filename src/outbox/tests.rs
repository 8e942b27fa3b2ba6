use chrono::TimeZone;

use super::*;
use crate::state::records::claims;
use crate::state::{enqueue, DomainRecord};

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap()
}

fn verified(new_arn: &str, deadline: DateTime<Utc>) -> Announcement {
    Announcement {
        kind: NoticeKind::Verified,
        consumer: "us-east-1_A".into(),
        consumer_kind: Default::default(),
        account: "default".into(),
        old_arn: Some("arn:old".into()),
        new_arn: new_arn.into(),
        reason: "verified after 8s".into(),
        renewal: false,
        deadline,
        expiry: crate::state::records::Expiry::default(),
        at: at(1),
    }
}

#[test]
fn each_outcome_maps_to_its_hook_with_an_id_naming_domain_and_outcome() {
    let a = verified("arn:new", at(2));
    let hook = hook_of("auth.example.com", &a);
    assert_eq!(hook.event, Event::Verified);
    assert_eq!(
        hook.id.as_deref(),
        Some("auth.example.com:verified:arn:new:2026-12-01T02:00:00Z")
    );
    for (kind, event) in [
        (NoticeKind::Rotated, Event::Swap),
        (NoticeKind::Failed, Event::Failure),
        (NoticeKind::RolledBack, Event::Failure),
    ] {
        let hook = hook_of("auth.example.com", &Announcement { kind, ..a.clone() });
        assert_eq!(hook.event, event, "{kind:?}");
    }
    // Another domain on the same certificate and deadline is another outcome.
    assert_ne!(hook_of("login.example.com", &a).id, hook.id);
}

#[test]
fn an_outcome_is_queued_once_and_two_swaps_of_one_certificate_are_two_outcomes() {
    let mut r = DomainRecord::default();
    enqueue(&mut r, &verified("arn:new", at(2)));
    enqueue(&mut r, &verified("arn:new", at(2)));
    assert_eq!(r.outbox.len(), 1);
    enqueue(&mut r, &verified("arn:new", at(3)));
    assert_eq!(r.outbox.len(), 2);
}

#[test]
fn a_notification_is_claimed_by_the_write_that_takes_it_out_of_the_outbox() {
    let key = verified("arn:new", at(2)).key();
    let mut r = DomainRecord::default();
    // First write: still in the outbox, unclaimed: claimed now, with this write's token.
    assert!(claims(&mut r, &key, true, at(4)));
    assert_eq!(r.notified.get(&key), Some(&at(4)));
    // The same write applied again after its answer was lost: still this write's claim.
    assert!(claims(&mut r, &key, false, at(4)));
    // Another write (another replica, or the drain of this one) finds it claimed.
    assert!(!claims(&mut r, &key, false, at(5)));
    assert!(!claims(&mut r, &key, true, at(5)));
    assert_eq!(r.notified.get(&key), Some(&at(4)));
    // Gone from the outbox and never claimed (the notification is not wanted): nothing to do.
    let mut fresh = DomainRecord::default();
    assert!(!claims(&mut fresh, &key, false, at(4)));
    assert!(fresh.notified.is_empty());
}

#[test]
fn an_outbox_survives_the_state_file_and_an_old_file_has_none() {
    let mut r = DomainRecord::default();
    enqueue(&mut r, &verified("arn:new", at(2)));
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"kind\":\"verified\""), "{json}");
    let back: DomainRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    let old: DomainRecord = serde_json::from_str("{\"failures\":1}").unwrap();
    assert!(old.outbox.is_empty());
    assert!(!serde_json::to_string(&old).unwrap().contains("outbox"));
}
