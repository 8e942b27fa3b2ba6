use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::model::DomainInfo;
use chrono::TimeZone;

const DOMAIN: &str = "auth.example.com";
const POOL: &str = "us-east-1_Pool";

fn pool() -> Consumer {
    Consumer::UserPool { id: POOL.into() }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

fn cert(id: &str, not_after_days: i64) -> Certificate {
    Certificate {
        arn: format!("arn:aws:acm:us-east-1:123456789012:certificate/{id}"),
        domain_name: DOMAIN.to_string(),
        sans: vec![DOMAIN.to_string()],
        sans_complete: true,
        status: "ISSUED".into(),
        cert_type: "IMPORTED".into(),
        key_algorithm: "RSA-2048".into(),
        not_before: Some(now() - days(10)),
        not_after: Some(now() + days(not_after_days)),
        issued_at: Some(now() - days(10)),
        tags: None,
    }
}

fn no_tags() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn req(tags: &BTreeMap<String, String>) -> Requirements<'_> {
    Requirements {
        domain: DOMAIN,
        min_validity: crate::model::MinValidity::Duration(Duration::from_secs(30 * 86_400)),
        require_tags: tags,
        denied: &NO_DENIED,
        region: CERTIFICATE_REGION,
    }
}

fn domain_on(arn: &str) -> DomainView {
    DomainView::Present(DomainInfo {
        owner: POOL.to_string(),
        certificate_region: CERTIFICATE_REGION.to_string(),
        api_endpoint: None,
        listener: None,
        status: "ACTIVE".into(),
        certificate_arn: Some(arn.to_string()),
        security_policy: None,
        managed_login_version: Some(2),
        failover: None,
        cloudfront_distribution: None,
    })
}

fn run(domain: &DomainView, certs: &[Certificate]) -> Decision {
    let tags = no_tags();
    decide(
        &req(&tags),
        &Observed {
            consumer: &pool(),
            consumer_id: POOL,
            domain,
            certificates: certs,
        },
        now(),
    )
}

fn why(c: &Certificate) -> Result<(), Ineligible> {
    let tags = no_tags();
    eligibility(&req(&tags), c, now())
}

// ---- name matching --------------------------------------------------------------------------

#[test]
fn exact_names_match_case_insensitively() {
    assert!(name_covers("auth.example.com", "auth.example.com"));
    assert!(name_covers("AUTH.Example.COM", "auth.example.com"));
    assert!(!name_covers("auth.example.co", "auth.example.com"));
}

#[test]
fn wildcard_covers_exactly_one_label() {
    assert!(name_covers("*.example.com", "auth.example.com"));
    assert!(name_covers("*.EXAMPLE.com", "auth.example.com"));
    assert!(!name_covers("*.example.com", "a.b.example.com"));
    assert!(!name_covers("*.example.com", "example.com"));
    assert!(!name_covers("*.example.com", ".example.com"));
    assert!(!name_covers("*.b.example.com", "auth.example.com"));
    assert!(!name_covers("auth.*.com", "auth.example.com"));
    assert!(!name_covers("*example.com", "authexample.com"));
}

#[test]
fn a_san_covers_the_domain_when_the_domain_name_does_not() {
    let mut c = cert("a", 90);
    c.domain_name = "www.example.com".into();
    c.sans = vec!["www.example.com".into(), "*.example.com".into()];
    assert_eq!(why(&c), Ok(()));
}

// ---- every rejection reason -----------------------------------------------------------------

#[test]
fn rejects_certificates_not_covering_the_domain() {
    let mut c = cert("a", 90);
    c.domain_name = "other.example.com".into();
    c.sans = vec!["other.example.com".into(), "*.sub.example.com".into()];
    assert_eq!(why(&c), Err(Ineligible::DoesNotCover));
}

#[test]
fn rejects_certificates_that_are_not_issued() {
    for status in [
        "PENDING_VALIDATION",
        "EXPIRED",
        "REVOKED",
        "INACTIVE",
        "FAILED",
    ] {
        let mut c = cert("a", 90);
        c.status = status.into();
        assert_eq!(why(&c), Err(Ineligible::Status(status.into())));
    }
}

#[test]
fn rejects_certificates_outside_us_east_1() {
    let mut c = cert("a", 90);
    c.arn = "arn:aws:acm:eu-west-1:123456789012:certificate/a".into();
    assert_eq!(
        why(&c),
        Err(Ineligible::Region {
            found: "eu-west-1".into(),
            wanted: "us-east-1".into(),
        })
    );
    assert!(why(&c)
        .unwrap_err()
        .to_string()
        .contains("only certificates in us-east-1"));
}

#[test]
fn rejects_certificates_not_yet_valid() {
    let mut c = cert("a", 90);
    c.not_before = Some(now() + days(1));
    assert_eq!(why(&c), Err(Ineligible::NotYetValid(now() + days(1))));
}

#[test]
fn accepts_a_certificate_valid_from_exactly_now() {
    let mut c = cert("a", 90);
    c.not_before = Some(now());
    assert_eq!(why(&c), Ok(()));
}

#[test]
fn rejects_expired_certificates() {
    let mut c = cert("a", 0);
    c.not_after = Some(now() - days(1));
    assert_eq!(why(&c), Err(Ineligible::Expired(now() - days(1))));
}

#[test]
fn min_validity_is_strict() {
    // Exactly now + min_validity is not enough: NotAfter must be strictly later.
    assert!(matches!(
        why(&cert("a", 30)),
        Err(Ineligible::ExpiresTooSoon { .. })
    ));
    assert_eq!(why(&cert("a", 31)), Ok(()));
    let mut c = cert("a", 30);
    c.not_after = Some(now() + days(30) + chrono::Duration::seconds(1));
    assert_eq!(why(&c), Ok(()));
}

#[test]
fn min_validity_override_per_target() {
    let tags = no_tags();
    let strict = Requirements {
        min_validity: crate::model::MinValidity::Duration(Duration::from_secs(45 * 86_400)),
        ..req(&tags)
    };
    assert!(eligibility(&strict, &cert("a", 40), now()).is_err());
    assert!(eligibility(&strict, &cert("a", 46), now()).is_ok());
}

#[test]
fn percentage_validity_is_a_share_of_each_certificates_own_lifetime() {
    use crate::model::MinValidity;
    let tags = no_tags();
    let third = Requirements {
        min_validity: MinValidity::Percent(33),
        ..req(&tags)
    };
    // A 198-day certificate (ACM's public lifetime) issued 130 days ago has 68 days left:
    // 33% of 198 days is 65.34 days, so it is still eligible.
    let mut acm = cert("acm", 68);
    acm.not_before = Some(now() - days(130));
    assert_eq!(eligibility(&third, &acm, now()), Ok(()));
    // Four days later (64 days left) it is not.
    acm.not_before = Some(now() - days(134));
    acm.not_after = Some(now() + days(64));
    let err = eligibility(&third, &acm, now()).unwrap_err();
    assert!(
        matches!(err, Ineligible::ExpiresTooSoon { required, .. } if required == Duration::from_secs(198 * 86_400 * 33 / 100)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("less than the required 33% of its lifetime (65.3 days)"),
        "{err}"
    );
    // A 90-day certificate with 40 days left: 33% is 29.7 days, eligible; the same 40 days
    // left are not enough for a 398-day certificate (131.34 days).
    let mut short = cert("short", 40);
    short.not_before = Some(now() - days(50));
    assert_eq!(eligibility(&third, &short, now()), Ok(()));
    let mut long = cert("long", 40);
    long.not_before = Some(now() - days(358));
    assert!(eligibility(&third, &long, now()).is_err());
}

#[test]
fn percentage_validity_picks_the_candidate_with_enough_of_its_lifetime_left() {
    use crate::model::MinValidity;
    let tags = no_tags();
    let half = Requirements {
        min_validity: MinValidity::Percent(50),
        ..req(&tags)
    };
    // Current: 100-day cert with 30 days left (30% < 50%). Candidate A: 400-day cert with
    // 150 days left (37.5%: rejected though it lasts longest). Candidate B: 90 days, fresh.
    let mut current = cert("current", 30);
    current.not_before = Some(now() - days(70));
    let mut a = cert("a", 150);
    a.not_before = Some(now() - days(250));
    let mut b = cert("b", 89);
    b.not_before = Some(now() - days(1));
    let domain = domain_on(&current.arn);
    let d = decide(
        &half,
        &Observed {
            consumer: &pool(),
            consumer_id: POOL,
            domain: &domain,
            certificates: &[current.clone(), a.clone(), b.clone()],
        },
        now(),
    );
    assert_eq!(d.action, Action::Swap);
    assert_eq!(d.candidate.map(|c| c.arn), Some(b.arn));
    let lost: Vec<&str> = d.rejected.iter().map(|r| r.arn.as_str()).collect();
    assert!(lost.contains(&a.arn.as_str()), "{lost:?}");
}

#[test]
fn rejects_certificates_without_dates() {
    let mut c = cert("a", 90);
    c.not_after = None;
    assert_eq!(why(&c), Err(Ineligible::NoValidityDates));
}

#[test]
fn key_types_cloudfront_serves_are_accepted_in_both_spellings() {
    for alg in [
        "RSA-1024",
        "RSA_2048",
        "RSA-3072",
        "RSA_4096",
        "EC-prime256v1",
        "EC_prime256v1",
    ] {
        let mut c = cert("a", 90);
        c.key_algorithm = alg.into();
        assert_eq!(why(&c), Ok(()), "{alg}");
    }
}

#[test]
fn rejects_p384_and_p521_keys() {
    for (alg, norm) in [
        ("EC-secp384r1", "EC_secp384r1"),
        ("EC_secp521r1", "EC_secp521r1"),
        ("ML-DSA-65", "ML_DSA_65"),
    ] {
        let mut c = cert("a", 90);
        c.key_algorithm = alg.into();
        assert_eq!(why(&c), Err(Ineligible::KeyAlgorithm(norm.into())));
    }
}

#[test]
fn required_tags_must_be_present_with_the_value() {
    let mut wanted = BTreeMap::new();
    wanted.insert("team".to_string(), "identity".to_string());
    let r = req(&wanted);
    let mut c = cert("a", 90);
    c.tags = Some(BTreeMap::new());
    assert_eq!(
        eligibility(&r, &c, now()),
        Err(Ineligible::Tag {
            key: "team".into(),
            wanted: "identity".into(),
            found: None
        })
    );
    c.tags = Some([("team".to_string(), "web".to_string())].into());
    let err = eligibility(&r, &c, now()).unwrap_err();
    assert!(err.to_string().contains("has value \"web\""));
    c.tags = Some([("team".to_string(), "identity".to_string())].into());
    assert_eq!(eligibility(&r, &c, now()), Ok(()));
}

#[test]
fn every_reason_reads_as_a_sentence() {
    let reasons = [
        Ineligible::Status("EXPIRED".into()),
        Ineligible::Region {
            found: "eu-west-1".into(),
            wanted: "us-east-1".into(),
        },
        Ineligible::DoesNotCover,
        Ineligible::NotYetValid(now()),
        Ineligible::Expired(now()),
        Ineligible::ExpiresTooSoon {
            not_after: now(),
            min_validity: crate::model::MinValidity::Duration(Duration::from_secs(86_400)),
            required: Duration::from_secs(86_400),
        },
        Ineligible::NoValidityDates,
        Ineligible::KeyAlgorithm("EC_secp384r1".into()),
        Ineligible::Tag {
            key: "k".into(),
            wanted: "v".into(),
            found: None,
        },
        Ineligible::NotFound,
    ];
    for r in reasons {
        let s = sentence(&r);
        assert!(
            s.ends_with('.') && s.chars().next().unwrap().is_uppercase(),
            "{s}"
        );
        assert!(s.len() > 15, "{s}");
    }
}

// ---- what must be fetched -------------------------------------------------------------------

#[test]
fn truncated_sans_need_a_describe_only_when_the_listed_names_do_not_match() {
    let tags = no_tags();
    let mut c = cert("a", 90);
    c.sans_complete = false;
    assert_eq!(needs(&req(&tags), &c), Needs::default());
    c.domain_name = "x.example.org".into();
    c.sans = vec!["x.example.org".into()];
    assert!(needs(&req(&tags), &c).full_sans);
}

#[test]
fn tags_are_needed_only_for_covering_certificates_when_required() {
    let mut wanted = BTreeMap::new();
    wanted.insert("team".to_string(), "identity".to_string());
    let mut c = cert("a", 90);
    assert!(needs(&req(&wanted), &c).tags);
    assert!(!needs(&req(&no_tags()), &c).tags);
    c.domain_name = "x.example.org".into();
    c.sans = vec![];
    assert!(!needs(&req(&wanted), &c).tags);
}

// ---- choosing -------------------------------------------------------------------------------

#[test]
fn latest_not_after_wins() {
    let a = cert("a", 60);
    let b = cert("b", 90);
    let c = cert("c", 75);
    let d = run(&domain_on(&a.arn), &[a.clone(), b.clone(), c.clone()]);
    assert_eq!(d.candidate.unwrap().arn, b.arn);
    assert_eq!(d.action, Action::Swap);
    assert_eq!(d.rejected.len(), 2);
    assert!(d.rejected.iter().all(|r| r.reason.contains("before b")));
}

#[test]
fn tie_on_not_after_goes_to_later_not_before() {
    let mut a = cert("a", 90);
    let mut b = cert("b", 90);
    a.not_before = Some(now() - days(20));
    b.not_before = Some(now() - days(5));
    assert_eq!(preference(&b, &a), Ordering::Greater);
    let d = run(
        &domain_on("arn:aws:acm:us-east-1:1:certificate/zz"),
        &[a, b.clone()],
    );
    assert_eq!(d.candidate.unwrap().arn, b.arn);
    assert!(
        d.rejected[0].reason.contains("tie-break: NotBefore"),
        "{:?}",
        d.rejected
    );
}

#[test]
fn tie_on_dates_goes_to_later_issue_time() {
    let mut a = cert("a", 90);
    let b = cert("b", 90);
    a.issued_at = Some(now() - days(1));
    let d = run(
        &domain_on("arn:aws:acm:us-east-1:1:certificate/zz"),
        &[b, a.clone()],
    );
    assert_eq!(d.candidate.unwrap().arn, a.arn);
    assert!(d.rejected[0].reason.contains("issue time"));
}

#[test]
fn full_tie_goes_to_the_smaller_arn_whatever_the_input_order() {
    let a = cert("a", 90);
    let b = cert("b", 90);
    let cur = domain_on("arn:aws:acm:us-east-1:1:certificate/zz");
    let one = run(&cur, &[a.clone(), b.clone()]);
    let two = run(&cur, &[b.clone(), a.clone()]);
    assert_eq!(one.candidate.as_ref().unwrap().arn, a.arn);
    assert_eq!(one.candidate, two.candidate);
    assert!(one.rejected[0].reason.contains("smaller ARN"));
}

// ---- acting ---------------------------------------------------------------------------------

#[test]
fn keeps_when_current_is_best() {
    let a = cert("a", 90);
    let b = cert("b", 60);
    let d = run(&domain_on(&a.arn), &[a.clone(), b]);
    assert_eq!(d.action, Action::Keep);
    assert!(d.reason.contains("best eligible"));
    assert_eq!(d.current.unwrap().arn, a.arn);
    assert_eq!(d.rejected.len(), 1);
}

#[test]
fn keeps_on_a_tie_with_an_eligible_current_certificate() {
    // b would win the tie-break, but swapping for no extra validity is a needless write.
    let mut a = cert("a", 90);
    let b = cert("b", 90);
    a.not_before = Some(now() - days(30));
    let d = run(&domain_on(&a.arn), &[a.clone(), b.clone()]);
    assert_eq!(d.candidate.unwrap().arn, b.arn);
    assert_eq!(d.action, Action::Keep);
    assert!(d.reason.contains("still eligible"));
}

#[test]
fn rotates_when_a_later_certificate_exists() {
    let a = cert("a", 60);
    let b = cert("b", 90);
    let d = run(&domain_on(&a.arn), &[a.clone(), b.clone()]);
    assert_eq!(d.action, Action::Swap);
    assert!(d.reason.contains("later than the current"), "{}", d.reason);
}

#[test]
fn rotates_when_current_is_not_eligible_any_more_even_to_an_earlier_expiry() {
    // The current cert expires in 90 days but has a key CloudFront now refuses; the candidate
    // expires sooner but is eligible: rotate.
    let mut a = cert("a", 95);
    a.key_algorithm = "EC-secp384r1".into();
    let b = cert("b", 90);
    let d = run(&domain_on(&a.arn), &[a.clone(), b.clone()]);
    assert_eq!(d.action, Action::Swap);
    assert!(d.reason.contains("no longer usable"));
    assert!(d
        .rejected
        .iter()
        .any(|r| r.arn == a.arn && r.reason.contains("EC_secp384r1")));
}

#[test]
fn rotates_off_a_certificate_acm_no_longer_knows() {
    let b = cert("b", 90);
    let d = run(
        &domain_on("arn:aws:acm:us-east-1:1:certificate/gone"),
        std::slice::from_ref(&b),
    );
    assert_eq!(d.action, Action::Swap);
    assert!(d.reason.contains("does not know"));
    assert!(d.current.is_none());
    assert_eq!(
        d.current_arn.as_deref(),
        Some("arn:aws:acm:us-east-1:1:certificate/gone")
    );
}

#[test]
fn rotates_off_a_certificate_inside_min_validity() {
    let a = cert("a", 10);
    let b = cert("b", 90);
    let d = run(&domain_on(&a.arn), &[a.clone(), b]);
    assert_eq!(d.action, Action::Swap);
    assert!(d.reason.contains("less than the required"));
}

#[test]
fn error_when_nothing_is_eligible() {
    let a = cert("a", 10);
    let d = run(&domain_on(&a.arn), std::slice::from_ref(&a));
    assert_eq!(d.action, Action::Error);
    assert!(d.candidate.is_none());
    assert!(d.reason.contains("no eligible certificate"), "{}", d.reason);
    assert_eq!(d.rejected.len(), 1);
}

#[test]
fn unrelated_certificates_are_not_listed_as_rejected() {
    let a = cert("a", 90);
    let mut other = cert("o", 120);
    other.domain_name = "shop.example.org".into();
    other.sans = vec!["shop.example.org".into()];
    let d = run(&domain_on(&a.arn), &[a, other]);
    assert!(d.rejected.is_empty());
}

#[test]
fn refuses_a_domain_of_another_user_pool() {
    let a = cert("a", 10);
    let b = cert("b", 90);
    let view = DomainView::Present(DomainInfo {
        owner: "us-east-1_Other".into(),
        certificate_region: CERTIFICATE_REGION.to_string(),
        api_endpoint: None,
        listener: None,
        status: "ACTIVE".into(),
        certificate_arn: Some(a.arn.clone()),
        security_policy: None,
        managed_login_version: None,
        failover: None,
        cloudfront_distribution: None,
    });
    let d = run(&view, &[a, b]);
    assert_eq!(d.action, Action::Error);
    assert!(d.reason.contains("belongs to user pool us-east-1_Other"));
}

#[test]
fn refuses_a_prefix_domain() {
    let view = DomainView::Present(crate::fixtures::domain(POOL, None));
    let d = run(&view, &[cert("b", 90)]);
    assert_eq!(d.action, Action::Error);
    assert!(d.reason.contains("prefix domain"));
}

#[test]
fn missing_domain_is_an_error() {
    let d = run(&DomainView::Missing, &[cert("b", 90)]);
    assert_eq!(d.action, Action::Error);
    assert!(d.reason.contains("has no domain"));
}

#[test]
fn waits_while_the_domain_is_updating() {
    let a = cert("a", 10);
    let b = cert("b", 90);
    let mut view = domain_on(&a.arn);
    if let DomainView::Present(info) = &mut view {
        info.status = "UPDATING".into();
    }
    let d = run(&view, &[a, b]);
    assert_eq!(d.action, Action::Keep);
    assert!(d.reason.contains("UPDATING"));
}

#[test]
fn a_failed_domain_needs_a_person() {
    let a = cert("a", 10);
    let b = cert("b", 90);
    let mut view = domain_on(&a.arn);
    if let DomainView::Present(info) = &mut view {
        info.status = "FAILED".into();
    }
    assert_eq!(run(&view, &[a, b]).action, Action::Error);
}

#[test]
fn decision_is_stable_under_input_order() {
    let certs: Vec<Certificate> = (0..6)
        .map(|i| {
            let mut c = cert(&format!("c{i}"), 60 + (i % 3) * 10);
            c.not_before = Some(now() - days(i % 2));
            c
        })
        .collect();
    let view = domain_on(&certs[0].arn);
    let forward = run(&view, &certs);
    let mut reversed = certs.clone();
    reversed.reverse();
    let backward = run(&view, &reversed);
    assert_eq!(forward.candidate, backward.candidate);
    assert_eq!(forward.action, backward.action);
}

static NO_DENIED: BTreeMap<String, String> = BTreeMap::new();

#[test]
fn a_denylisted_certificate_is_rejected_with_the_way_out() {
    let tags = BTreeMap::new();
    let mut denied = BTreeMap::new();
    denied.insert(
        cert("new", 300).arn.clone(),
        "verification failed at 2026-11-24T10:00:00Z".to_string(),
    );
    let r = Requirements {
        denied: &denied,
        ..req(&tags)
    };
    let why = eligibility(&r, &cert("new", 300), now()).unwrap_err();
    assert!(matches!(why, Ineligible::Denied(_)));
    assert!(why.to_string().contains("forget"), "{why}");
    // The other certificates are unaffected.
    assert!(eligibility(&r, &cert("old", 60), now()).is_ok());
}
