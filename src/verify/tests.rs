//! The loop on tokio's paused clock, and a whole verification on an injected clock with a
//! mocked Cognito client.

use aws_sdk_cognitoidentityprovider::operation::describe_user_pool_domain::DescribeUserPoolDomainOutput;
use aws_sdk_cognitoidentityprovider::types::{
    CustomDomainConfigType, DomainDescriptionType, DomainStatusType,
};
use aws_sdk_cognitoidentityprovider::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};

use super::*;
use crate::aws::cognito::CognitoDomains;
use crate::aws::consumer::Service;
use crate::clock::TokioClock;
use crate::model::DomainStatus;

fn pending() -> Look {
    Look {
        service_name: "Cognito",
        service: Err(NotYet::Status(DomainStatus::Updating)),
        edge: Err(NotYet::PointsElsewhere(Some("the old certificate".into()))),
        split: None,
    }
}

fn done() -> Look {
    Look {
        service_name: "Cognito",
        service: Ok(()),
        edge: Ok(Some(Trust::Trusted)),
        split: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_sixty_minute_window_times_out_after_exactly_its_looks() {
    let started = Instant::now();
    let verdict = wait_until_verified(
        Duration::from_secs(3600),
        Duration::from_secs(30),
        |_| async { pending() },
    )
    .await;
    let Waited::TimedOut { attempts, last, .. } = verdict else {
        panic!("expected a time-out")
    };
    // t = 0, 30s, ..., 3600s.
    assert_eq!(attempts, 121);
    assert_eq!(started.elapsed(), Duration::from_secs(3600));
    assert!(last.pending().contains("UPDATING"));
}

#[tokio::test(start_paused = true)]
async fn verifies_as_soon_as_both_checks_pass() {
    let start = Instant::now();
    let verdict = wait_until_verified(
        Duration::from_secs(3600),
        Duration::from_secs(30),
        |_| async move {
            if start.elapsed() >= Duration::from_secs(45 * 60) {
                done()
            } else {
                pending()
            }
        },
    )
    .await;
    assert!(
        matches!(verdict, Waited::Verified { after, attempts: 91, .. } if after == Duration::from_secs(2700)),
        "{verdict:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn cognito_alone_is_not_enough() {
    let verdict = wait_until_verified(
        Duration::from_secs(60),
        Duration::from_secs(20),
        |_| async {
            Look {
                service_name: "Cognito",
                service: Ok(()),
                edge: Err(NotYet::NoSerial),
                split: None,
            }
        },
    )
    .await;
    assert!(
        matches!(verdict, Waited::TimedOut { attempts: 4, .. }),
        "{verdict:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_last_look_happens_at_the_deadline_when_the_interval_overshoots() {
    let verdict = wait_until_verified(
        Duration::from_secs(50),
        Duration::from_secs(30),
        |n| async move {
            if n == 3 {
                done()
            } else {
                pending()
            }
        },
    )
    .await;
    assert!(
        matches!(verdict, Waited::Verified { after, attempts: 3, .. } if after == Duration::from_secs(50)),
        "{verdict:?}"
    );
}

const NEW: &str = "arn:aws:acm:us-east-1:111111111111:certificate/new";

fn described(status: DomainStatusType) -> DescribeUserPoolDomainOutput {
    DescribeUserPoolDomainOutput::builder()
        .domain_description(
            DomainDescriptionType::builder()
                .user_pool_id("eu-central-1_Pool")
                .domain("auth.example.com")
                .status(status)
                .custom_domain_config(
                    CustomDomainConfigType::builder()
                        .certificate_arn(NEW)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
}

fn settings() -> VerifySettings {
    VerifySettings {
        window: Duration::from_secs(3600),
        window_configured: true,
        interval: Duration::from_secs(30),
        tls: false,
        connect_to: Vec::new(),
        ca_file: None,
        on_failure: Default::default(),
    }
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn job(deadline: DateTime<Utc>, serial: Option<Serial>) -> VerifyJob {
    VerifyJob {
        target: Target {
            domain: "auth.example.com".into(),
            consumer: crate::model::Consumer::UserPool {
                id: "eu-central-1_Pool".into(),
            },
            region: "eu-central-1".into(),
            min_validity: crate::model::MinValidity::Duration(Duration::from_secs(30 * 86_400)),
            require_tags: Default::default(),
            role: None,
            policy: Default::default(),
            discovered: None,
            source: "config.yaml:3".into(),
        },
        old_arn: None,
        new_arn: NEW.into(),
        new_serial: serial,
        swapped_at: Some(start()),
        deadline,
        renewal: false,
        expiry: Default::default(),
    }
}

/// Verify a job whose deadline is 13:00, with Cognito answering by `rule`.
async fn verify_with(
    rule: &aws_smithy_mocks::Rule,
    clock: &TokioClock,
    settings: &VerifySettings,
    probe: Option<&TlsProbe>,
) -> Verification {
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [rule]
    );
    let cognito = CognitoDomains::new(client);
    let job = job(start() + chrono::Duration::hours(1), None);
    let checker = Checker {
        consumer: ConsumerApi::new(&job.target, Service::Cognito(&cognito)),
        probe,
        settings,
        clock,
        metrics: None,
    };
    verify_swap(checker, &job).await
}

#[tokio::test(start_paused = true)]
async fn cognito_updating_for_45_minutes_verifies_inside_the_hour_window() {
    let rule = mock!(Client::describe_user_pool_domain)
        .sequence()
        .output(|| described(DomainStatusType::Updating))
        .times(90)
        .output(|| described(DomainStatusType::Active))
        .build();
    let clock = TokioClock::starting_at(start());
    let verdict = verify_with(&rule, &clock, &settings(), None).await;
    assert_eq!(
        verdict,
        Verification::Verified(
            "verified 45m after the swap (91 checks); TLS check off".to_string()
        )
    );
    assert_eq!(clock.now(), start() + chrono::Duration::minutes(45));
}

#[tokio::test(start_paused = true)]
async fn the_window_ends_at_the_recorded_deadline_not_a_fresh_hour() {
    // A job resumed 50 minutes into its hour has 10 minutes left: 21 looks, 30 s apart.
    let rule = mock!(Client::describe_user_pool_domain)
        .sequence()
        .output(|| described(DomainStatusType::Updating))
        .times(100)
        .build();
    let clock = TokioClock::starting_at(start() + chrono::Duration::minutes(50));
    let verdict = verify_with(&rule, &clock, &settings(), None).await;
    assert_eq!(
        verdict,
        Verification::Failed("not verified by the deadline 2026-11-24T13:00:00Z (21 checks): Cognito: status UPDATING".to_string())
    );
    assert_eq!(clock.now(), start() + chrono::Duration::hours(1));
}

#[tokio::test(start_paused = true)]
async fn with_the_tls_check_on_a_job_without_a_serial_fails_before_looking() {
    let rule = mock!(Client::describe_user_pool_domain)
        .then_output(|| described(DomainStatusType::Active));
    let clock = TokioClock::starting_at(start());
    let mut settings = settings();
    settings.tls = true;
    let probe = TlsProbe::new(&settings).unwrap();
    let verdict = verify_with(&rule, &clock, &settings, Some(&probe)).await;
    assert!(
        matches!(&verdict, Verification::Failed(e) if e.contains("no readable serial")),
        "{verdict:?}"
    );
    assert_eq!(rule.num_calls(), 0);
}
