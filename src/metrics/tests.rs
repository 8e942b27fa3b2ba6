use super::http::{respond, Health};
use super::*;
use hyper::StatusCode;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn healthz_turns_unhealthy_when_the_loop_stalls() {
    let health = Health::new(Duration::from_secs(900));
    assert!(health.healthy());
    tokio::time::advance(Duration::from_secs(1700)).await;
    assert!(health.healthy());
    health.pass_finished();
    tokio::time::advance(Duration::from_secs(1801)).await;
    assert!(!health.healthy());
    let m = Metrics::new();
    assert_eq!(
        respond(&hyper::Method::GET, "/healthz", &m, &health).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    health.pass_finished();
    assert_eq!(
        respond(&hyper::Method::GET, "/healthz", &m, &health).status(),
        StatusCode::OK
    );
}

#[test]
fn metrics_use_the_documented_names() {
    let m = Metrics::new();
    let labels = TargetLabels {
        domain: "auth.example.com".into(),
        kind: "cognito".into(),
        consumer: "us-east-1_A".into(),
    };
    m.expiration.get_or_create(&labels).set(1_800_000_000);
    m.rotations
        .get_or_create(&ResultLabels {
            domain: "auth.example.com".into(),
            result: "verified".into(),
        })
        .inc();
    m.set_verification_state("auth.example.com", "verifying");
    let text = m.encode();
    assert!(text.contains("cognito_cert_rotator_certificate_expiration_timestamp_seconds{domain=\"auth.example.com\",kind=\"cognito\",consumer=\"us-east-1_A\"} 1800000000"), "{text}");
    assert!(text.contains(
        "cognito_cert_rotator_rotations_total{domain=\"auth.example.com\",result=\"verified\"} 1"
    ));
    assert!(text.contains("cognito_cert_rotator_verification_state{domain=\"auth.example.com\",state=\"verifying\"} 1"));
    assert!(text.contains(
        "cognito_cert_rotator_verification_state{domain=\"auth.example.com\",state=\"verified\"} 0"
    ));
    assert!(text.contains("# TYPE cognito_cert_rotator_pass_duration_seconds histogram"));
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn clock_skew_is_read_from_an_http_date() {
    use chrono::TimeZone;
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 12, 1, 20, 0, 10)
        .unwrap();
    assert_eq!(
        skew_seconds(now, "Tue, 01 Dec 2026 20:00:00 GMT"),
        Some(10.0)
    );
    assert_eq!(
        skew_seconds(now, "Tue, 01 Dec 2026 20:00:15 GMT"),
        Some(-5.0)
    );
    assert_eq!(skew_seconds(now, "yesterday"), None);
}
