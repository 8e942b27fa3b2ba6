use aws_sdk_acm::error::ErrorMetadata;
use aws_sdk_acm::operation::describe_certificate::{
    DescribeCertificateError, DescribeCertificateOutput,
};
use aws_sdk_acm::operation::list_certificates::{ListCertificatesError, ListCertificatesOutput};
use aws_sdk_acm::primitives::DateTime;
use aws_sdk_acm::types::error::ResourceNotFoundException;
use aws_sdk_acm::types::CertificateDetail;
use aws_smithy_mocks::{mock, mock_client, RuleMode};

use super::*;

fn summary(id: &str, alg: &str) -> CertificateSummary {
    CertificateSummary::builder()
        .certificate_arn(format!("arn:aws:acm:us-east-1:1:certificate/{id}"))
        .domain_name("auth.example.com")
        .subject_alternative_name_summaries("auth.example.com")
        .status(CertificateStatus::Issued)
        .key_algorithm(KeyAlgorithm::from(alg))
        .not_before(DateTime::from_secs(1_700_000_000))
        .not_after(DateTime::from_secs(1_800_000_000))
        .imported_at(DateTime::from_secs(1_700_000_100))
        .build()
}

fn no_retries(b: aws_sdk_acm::config::Builder) -> aws_sdk_acm::config::Builder {
    b.retry_config(aws_sdk_acm::config::retry::RetryConfig::disabled())
}

#[tokio::test]
async fn follows_next_token_through_every_page() {
    let first = mock!(Client::list_certificates)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            ListCertificatesOutput::builder()
                .certificate_summary_list(summary("a", "RSA-2048"))
                .certificate_summary_list(summary("b", "RSA-2048"))
                .next_token("page2")
                .build()
        });
    // A short page: a client that counted items instead of following NextToken would stop here.
    let second = mock!(Client::list_certificates)
        .match_requests(|r| r.next_token() == Some("page2"))
        .then_output(|| {
            ListCertificatesOutput::builder()
                .certificate_summary_list(summary("c", "EC-prime256v1"))
                .next_token("page3")
                .build()
        });
    let third = mock!(Client::list_certificates)
        .match_requests(|r| r.next_token() == Some("page3"))
        .then_output(|| {
            ListCertificatesOutput::builder()
                .certificate_summary_list(summary("d", "EC_secp384r1"))
                .build()
        });
    let client = mock_client!(aws_sdk_acm, RuleMode::Sequential, [&first, &second, &third]);
    let scan = Acm::new(client).list_issued().await.unwrap();
    assert_eq!(scan.pages, 3);
    let tails: Vec<&str> = scan.certificates.iter().map(|c| c.arn_tail()).collect();
    assert_eq!(tails, ["a", "b", "c", "d"]);
    assert_eq!(third.num_calls(), 1);
}

#[tokio::test]
async fn always_asks_for_every_key_type_and_only_issued() {
    let rule = mock!(Client::list_certificates)
        .match_requests(|r| {
            let types: Vec<&str> = r
                .includes()
                .map(|i| i.key_types().iter().map(|k| k.as_str()).collect())
                .unwrap_or_default();
            let statuses: Vec<&str> = r
                .certificate_statuses()
                .iter()
                .map(|s| s.as_str())
                .collect();
            [
                "RSA_1024",
                "RSA_2048",
                "RSA_3072",
                "RSA_4096",
                "EC_prime256v1",
                "EC_secp384r1",
                "EC_secp521r1",
            ]
            .iter()
            .all(|t| types.contains(t))
                && statuses == ["ISSUED"]
                && r.max_items() == Some(1000)
        })
        .then_output(|| ListCertificatesOutput::builder().build());
    let client = mock_client!(aws_sdk_acm, RuleMode::Sequential, [&rule]);
    let scan = Acm::new(client).list_issued().await.unwrap();
    assert_eq!(
        rule.num_calls(),
        1,
        "the request did not carry every key type"
    );
    assert!(scan.certificates.is_empty());
}

#[tokio::test]
async fn normalises_dash_key_algorithms_and_reads_dates() {
    let rule = mock!(Client::list_certificates).then_output(|| {
        ListCertificatesOutput::builder()
            .certificate_summary_list(summary("a", "EC-prime256v1"))
            .build()
    });
    let client = mock_client!(aws_sdk_acm, RuleMode::Sequential, [&rule]);
    let scan = Acm::new(client).list_issued().await.unwrap();
    let c = &scan.certificates[0];
    assert_eq!(c.key_algorithm, "EC_prime256v1");
    assert_eq!(c.not_after.unwrap().timestamp(), 1_800_000_000);
    assert_eq!(c.issued_at.unwrap().timestamp(), 1_700_000_100);
    assert!(c.sans_complete);
}

#[tokio::test]
async fn truncated_san_lists_are_marked_incomplete() {
    let rule = mock!(Client::list_certificates).then_output(|| {
        let mut s = summary("a", "RSA-2048");
        s.has_additional_subject_alternative_names = Some(true);
        ListCertificatesOutput::builder()
            .certificate_summary_list(s)
            .build()
    });
    let client = mock_client!(aws_sdk_acm, RuleMode::Sequential, [&rule]);
    let scan = Acm::new(client).list_issued().await.unwrap();
    assert!(!scan.certificates[0].sans_complete);
}

#[tokio::test]
async fn throttling_is_surfaced_with_its_code() {
    let rule = mock!(Client::list_certificates).then_error(|| {
        ListCertificatesError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_acm, RuleMode::Sequential, [&rule], no_retries);
    let err = Acm::new(client).list_issued().await.unwrap_err();
    assert!(err.is_throttling(), "{err:?}");
    assert_eq!(err.metric_label(), "ThrottlingException");
    assert_eq!(
        err.to_string(),
        "ListCertificates: ThrottlingException: Rate exceeded"
    );
}

#[tokio::test]
async fn describe_reads_all_sans_and_the_serial() {
    let rule = mock!(Client::describe_certificate)
        .match_requests(|r| r.certificate_arn() == Some("arn:aws:acm:us-east-1:1:certificate/a"))
        .then_output(|| {
            DescribeCertificateOutput::builder()
                .certificate(
                    CertificateDetail::builder()
                        .certificate_arn("arn:aws:acm:us-east-1:1:certificate/a")
                        .domain_name("a.example.com")
                        .subject_alternative_names("a.example.com")
                        .subject_alternative_names("auth.example.com")
                        .serial("0a:1b:2c")
                        .status(CertificateStatus::Issued)
                        .key_algorithm(KeyAlgorithm::from("RSA-4096"))
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_acm, RuleMode::Sequential, [&rule]);
    let d = Acm::new(client)
        .describe("arn:aws:acm:us-east-1:1:certificate/a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.serial.as_deref(), Some("0a:1b:2c"));
    assert_eq!(d.certificate.sans.len(), 2);
    assert!(d.certificate.sans_complete);
    assert_eq!(d.certificate.key_algorithm, "RSA_4096");
    assert_eq!(d.parsed_serial(), Ok(Serial::parse("0a:1b:2c").unwrap()));
    let missing = Described {
        serial: None,
        ..d.clone()
    };
    assert_eq!(
        missing.parsed_serial().unwrap_err().to_string(),
        "ACM gave no serial for a"
    );
    let garbled = Described {
        serial: Some("zz:??".into()),
        ..d
    };
    let why = garbled.parsed_serial().unwrap_err().to_string();
    assert!(why.ends_with("(certificate a)"), "{why}");
}

#[tokio::test]
async fn describe_of_a_deleted_certificate_is_none() {
    let rule = mock!(Client::describe_certificate).then_error(|| {
        DescribeCertificateError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("not found")
                .meta(
                    ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_acm, RuleMode::Sequential, [&rule], no_retries);
    let d = Acm::new(client)
        .describe("arn:aws:acm:us-east-1:1:certificate/gone")
        .await;
    assert_eq!(d, Ok(None));
}

/// Every page and every DescribeCertificate waits for the account's limiter: 17 pages at
/// 8/s take 2 s (of tokio's paused clock), 11 describes at 10/s take 1 s.
#[tokio::test(start_paused = true)]
async fn pages_and_describes_are_spaced_by_the_account_limits() {
    use crate::aws::limit::{AccountLimits, Rates};
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let page = mock!(Client::list_certificates).then_output(|| {
        let n = PAGE.fetch_add(1, Ordering::SeqCst);
        let out = ListCertificatesOutput::builder()
            .certificate_summary_list(summary(&format!("c{n}"), "RSA-2048"));
        if n < 16 {
            out.next_token(format!("p{}", n + 1)).build()
        } else {
            out.build()
        }
    });
    let describe = mock!(Client::describe_certificate).then_output(|| {
        DescribeCertificateOutput::builder()
            .certificate(
                CertificateDetail::builder()
                    .certificate_arn("arn:aws:acm:us-east-1:1:certificate/x")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_acm,
        RuleMode::MatchAny,
        [&page, &describe],
        no_retries
    );
    let acm = Acm::with_limits(client, Arc::new(AccountLimits::new(Rates::default())));

    let t0 = tokio::time::Instant::now();
    let scan = acm.list_issued().await.unwrap();
    assert_eq!(scan.pages, 17);
    assert_eq!(t0.elapsed(), std::time::Duration::from_millis(2000));

    let t1 = tokio::time::Instant::now();
    for _ in 0..11 {
        acm.describe("arn:aws:acm:us-east-1:1:certificate/x")
            .await
            .unwrap();
    }
    // The first describe may start at once; then 100 ms apart.
    assert_eq!(t1.elapsed(), std::time::Duration::from_millis(1000));
}
